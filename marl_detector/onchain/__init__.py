"""Hide-and-Shill on chain: the market contracts driven from Python, the chain-log reader, the evaluation log.

Modules (one idea each): `deployment` (deploy and bind the market), `accounts` (simulated traders' keys),
`market` (on-chain market mode: simulated trades as real swaps), `reader` (observations rebuilt from logs),
`evaluation` (commit / reveal / resolve and paging through EvaluationLog), `verify` (independent
re-derivation of every logged outcome), `cli` (`symphony detect run`).
"""
