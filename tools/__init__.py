"""The tools every part of Symphony shares: one calculator, one Python sandbox, one BM25 corpus search, and one
answer extraction/normalisation, with pydantic input/output models that are the tools' schemas.

Why a package of its own: the Symphony agents (text protocols in `agents.tool_use`), the Gradientsys MCP tool
agents (`scheduler.toolkit.builtin`), Echo's rewards and the scheduler's scoring must compute the same thing
the same way. `tools` imports only `core` and third-party libraries, so any layer above may use it.
"""
