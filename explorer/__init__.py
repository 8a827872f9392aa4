"""The network explorer (issue #18): a read-only web page that follows one deployment through the durable event
stream and shows its agents, tasks, votes, evaluation log and policy versions as they change.

Layer: imports only `core` and `chain` (tests/architecture/test_layering.py), so anyone holding a manifest can run
it without the agent, scheduler or detector code.
"""
