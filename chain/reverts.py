"""Reverts decoded into Python exceptions named after the Solidity custom errors.

Why: `ContractCustomError('0x6e5c1f2a…')` tells a user nothing. Every custom error declared in our contracts
gets an exception class of the same name (subclass of `ContractRevert`, itself a `SymphonyError`), carrying the
decoded arguments, so callers write `except InsufficientStake as err: err.args_dict["minimum"]`.
Access classes as attributes of this module (`chain.reverts.InsufficientStake`) or via `revert_class(name)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi.exceptions import DecodingError
from eth_utils import function_signature_to_4byte_selector, to_checksum_address

from core.errors import SymphonyError

_ERROR_STRING = bytes.fromhex("08c379a0")  # Error(string)
_PANIC = bytes.fromhex("4e487b71")  # Panic(uint256)
_PANIC_CODES = {
    0x01: "assertion failed",
    0x11: "arithmetic overflow or underflow",
    0x12: "division by zero",
    0x21: "invalid enum value",
    0x31: "pop on empty array",
    0x32: "array index out of bounds",
    0x41: "out of memory",
    0x51: "call to uninitialised function",
}


class ContractRevert(SymphonyError):
    """A transaction or call reverted. Subclasses are named after the custom error."""

    error_name: str = "Revert"

    def __init__(self, message: str, *, contract: str | None = None, args: dict[str, Any] | None = None, data: bytes = b""):
        super().__init__(message)
        self.contract = contract
        self.args_dict = args or {}
        self.data = data


class RevertWithReason(ContractRevert):
    """`require(cond, "reason")` or `revert("reason")`."""

    error_name = "Error"


class PanicRevert(ContractRevert):
    """A Solidity panic (assert, overflow, out-of-bounds)."""

    error_name = "Panic"


@dataclass(frozen=True)
class ErrorSpec:
    name: str
    input_names: tuple[str, ...]
    input_types: tuple[str, ...]
    contracts: tuple[str, ...]

    @property
    def signature(self) -> str:
        return f"{self.name}({','.join(self.input_types)})"


_classes: dict[str, type[ContractRevert]] = {}


def revert_class(name: str) -> type[ContractRevert]:
    """The exception class for custom error `name` (created on first use, one class per name)."""
    cls = _classes.get(name)
    if cls is None:
        cls = type(name, (ContractRevert,), {"error_name": name, "__module__": __name__})
        _classes[name] = cls
    return cls


def _abi_type(item: dict) -> str:
    if item["type"].startswith("tuple"):
        inner = ",".join(_abi_type(c) for c in item["components"])
        return f"({inner}){item['type'][len('tuple'):]}"
    return item["type"]


def build_error_registry(abis: dict[str, list[dict]]) -> dict[bytes, ErrorSpec]:
    """selector -> error spec, for every custom error in the given {contract name: abi}."""
    found: dict[bytes, ErrorSpec] = {}
    for contract, abi in abis.items():
        for item in abi:
            if item.get("type") != "error":
                continue
            spec = ErrorSpec(
                item["name"],
                tuple(i.get("name", "") for i in item.get("inputs", [])),
                tuple(_abi_type(i) for i in item.get("inputs", [])),
                (contract,),
            )
            selector = function_signature_to_4byte_selector(spec.signature)
            if selector in found:
                spec = ErrorSpec(spec.name, spec.input_names, spec.input_types, found[selector].contracts + (contract,))
            found[selector] = spec
    return found


@lru_cache(maxsize=1)
def project_error_registry() -> dict[bytes, ErrorSpec]:
    from chain.compile import compile_contracts

    artifacts = compile_contracts()
    return build_error_registry({a.name: a.abi for key, a in artifacts.items() if ":" not in key})


def _format_value(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return str(value)


def decode_revert(data: bytes | str | None, *, contract: str | None = None, registry: dict[bytes, ErrorSpec] | None = None) -> ContractRevert:
    """Turn raw revert data into the matching exception instance (not raised)."""
    where = f"{contract} reverted" if contract else "transaction reverted"
    if isinstance(data, str):
        try:
            data = bytes.fromhex(data.removeprefix("0x")) if data else b""
        except ValueError:  # a node that reports revert data as free text: keep the text, decode nothing
            return ContractRevert(f"{where} with undecodable data {data[:80]!r}", contract=contract, data=data.encode())
    data = data or b""
    try:
        return _decode(data, where, contract, registry)
    except DecodingError:  # a known selector with a body that is not its ABI encoding
        return ContractRevert(f"{where} with malformed error data 0x{data[:68].hex()}", contract=contract, data=data)


def _decode(data: bytes, where: str, contract: str | None, registry: dict[bytes, ErrorSpec] | None) -> ContractRevert:
    if len(data) < 4:
        return ContractRevert(f"{where} without a reason", contract=contract, data=data)
    selector, body = data[:4], data[4:]
    if selector == _ERROR_STRING:
        (reason,) = abi_decode(["string"], body)
        return RevertWithReason(f"{where}: {reason}", contract=contract, args={"reason": reason}, data=data)
    if selector == _PANIC:
        (code,) = abi_decode(["uint256"], body)
        return PanicRevert(f"{where}: panic 0x{code:02x} ({_PANIC_CODES.get(code, 'unknown')})", contract=contract, args={"code": code}, data=data)
    spec = (registry if registry is not None else project_error_registry()).get(selector)
    if spec is None:
        return ContractRevert(f"{where} with unknown error 0x{data.hex()}", contract=contract, data=data)
    values = abi_decode(list(spec.input_types), body)
    values = [to_checksum_address(v) if t == "address" else v for t, v in zip(spec.input_types, values)]
    args = dict(zip(spec.input_names, values))
    shown = ", ".join(f"{k}={_format_value(v)}" for k, v in args.items())
    return revert_class(spec.name)(f"{where}: {spec.name}({shown})", contract=contract, args=args, data=data)


def __getattr__(name: str) -> type[ContractRevert]:
    """`from chain.reverts import InsufficientStake` works for every custom error our contracts declare."""
    if name[:1].isupper() and any(spec.name == name for spec in project_error_registry().values()):
        return revert_class(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r} (no contract declares that error)")
