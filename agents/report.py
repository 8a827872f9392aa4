"""Human and JSON views of an answered question: the answer and the provenance anyone can check on chain."""

from __future__ import annotations

from agents.requester import AskResult


def provenance(result: AskResult) -> dict:
    return {
        "question": result.question,
        "task_id": result.task_id,
        "answer": result.answer,
        "winning_weight": result.winning_weight / 1e18,
        "total_weight": result.total_weight / 1e18,
        "seconds": round(result.seconds, 2),
        "chain_seconds": round(result.timer.chain_seconds, 2),
        "auction_wait_seconds": round(result.timer.auction_seconds, 2),
        "gas_used_by_requester": result.gas_used,
        "planner": {"seconds": round(result.planner_seconds, 2), "tokens": result.planner_tokens},
        "chains": [
            {
                "cot_index": c.cot_index,
                "plan_source": c.plan.source,
                "answer": c.answer,
                "weight": c.weight / 1e18,
                "error": c.error,
                "steps": [
                    {"step": s.step, "beacons": s.beacon_ids, "executor": s.executor, "score": s.score / 1e18,
                     "abstained": bool(s.result and s.result.abstained), "tools": list(s.result.tools_used) if s.result else [],
                     "output": (s.result.answer or s.result.output)[:200] if s.result else None}
                    for s in c.steps
                ],
            }
            for c in result.chains
        ],
        "tx_hashes": result.tx_hashes,
    }


def print_provenance(result: AskResult, names: dict[str, str] | None = None, models: dict[str, str] | None = None) -> None:
    """The answer with the vote's weights, then every chain: its weight and answer, each step's executor (name and,
    given `models`, the model id the ledger lists: an adapter's sha256 names the exact weights), bid score and beacon."""
    names, models = names or {}, models or {}
    print(f"answer: {result.answer!r}  (vote weight {result.winning_weight / 1e18:.3f} of {result.total_weight / 1e18:.3f}: "
          f"the summed weights of the chains that gave this answer, of all chains that answered)")
    print(f"task {result.task_id}: {result.seconds:.1f} s, chain operations {result.timer.chain_seconds:.1f} s, "
          f"auction windows {result.timer.auction_seconds:.1f} s, requester gas {result.gas_used:,}")
    for c in result.chains:
        head = f"  chain {c.cot_index} [{c.plan.source} plan] weight {c.weight / 1e18:.3f} -> {c.answer!r}"
        print(head + (f"  FAILED: {c.error}" if c.error else ""))
        for index, s in enumerate(c.steps):  # steps and chains numbered from 0, as on chain and in `task show`
            who = names.get(s.executor or "", s.executor or "-")
            model = models.get(s.executor or "")
            model = f" [{model[:23]}{'…' if len(model) > 23 else ''}]" if model else ""
            tools = f" tools={','.join(s.result.tools_used)}" if s.result and s.result.tools_used else ""
            print(f"    step {index}: {s.step[:60]!r} -> {who}{model} (score {s.score / 1e18:.3f}, "
                  f"beacon {s.beacon_ids[-1]}){tools}")
    print(f"  {len(result.tx_hashes)} requester transactions, first {result.tx_hashes[0] if result.tx_hashes else '-'}")
