"""The `cast` command that reads each item the explorer shows, so anyone can check the page without trusting it.

Why signatures are built from the ABI: the contracts are still changing, and a hand-written signature would go
stale silently; the ABI the deployment was made with is the one the command must use. A view returning one
static struct is written as its fields one after another (as docs/audit-with-cast.md does), so `cast` prints one
field per line.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass


def _canonical(param: dict) -> str:
    if param["type"].startswith("tuple"):
        return "(" + ",".join(_canonical(c) for c in param["components"]) + ")" + param["type"][len("tuple"):]
    return param["type"]


def _is_static(param: dict) -> bool:
    if param["type"] == "tuple":
        return all(_is_static(c) for c in param["components"])
    return param["type"] not in ("string", "bytes") and not param["type"].endswith("]")


def _find(abi: list[dict], kind: str, name: str) -> dict:
    for item in abi:
        if item.get("type") == kind and item.get("name") == name:
            return item
    raise KeyError(f"no {kind} {name} in the ABI")


def call_signature(abi: list[dict], function: str) -> str:
    """`name(inputs)(outputs)` for `cast call`."""
    item = _find(abi, "function", function)
    inputs = ",".join(_canonical(p) for p in item["inputs"])
    outputs = item["outputs"]
    if len(outputs) == 1 and outputs[0]["type"] == "tuple" and _is_static(outputs[0]):
        shown = ",".join(_canonical(c) for c in outputs[0]["components"])
    else:
        shown = ",".join(_canonical(p) for p in outputs)
    return f"{function}({inputs})({shown})"


def event_signature(abi: list[dict], event: str) -> str:
    """`Name(type indexed,…)` for `cast logs`."""
    item = _find(abi, "event", event)
    return f"{event}(" + ",".join(_canonical(p) + (" indexed" if p.get("indexed") else "") for p in item["inputs"]) + ")"


@dataclass(frozen=True)
class Cast:
    """Builds read-only `cast` commands against one RPC endpoint."""

    rpc_url: str
    from_block: int

    def call(self, address: str, abi: list[dict], function: str, *args: object) -> str:
        words = ["cast", "call", address, call_signature(abi, function), *(str(a) for a in args), "--rpc-url", self.rpc_url]
        return shlex.join(words)

    def logs(self, address: str, abi: list[dict], event: str, *topics: object, block: int | None = None) -> str:
        span = ["--from-block", str(block), "--to-block", str(block)] if block is not None else ["--from-block", str(self.from_block)]
        words = ["cast", "logs", *span, "--address", address, event_signature(abi, event), *(str(t) for t in topics),
                 "--rpc-url", self.rpc_url]
        return shlex.join(words)

    def receipt(self, tx_hash: str) -> str:
        return shlex.join(["cast", "receipt", tx_hash, "--rpc-url", self.rpc_url])
