# The two commands of the README quick start. Both set up whatever is missing first (idempotent).
.PHONY: setup demo test test-fast forge-test bench

setup:
	@bash scripts/setup.sh

# The main job: the end-to-end Symphony demo on an embedded anvil and the default CPU model.
demo: setup
	.venv/bin/symphony demo

# Every test: forge (unit, fuzz, invariant) and pytest (chain, agents, echo, detector, scheduler).
test: setup
	bash scripts/run_tests.sh

forge-test: setup
	toolchain/bin/forge test

bench: setup
	.venv/bin/python scripts/bench_chain.py
