"""Exceptions every layer raises for problems a user can fix.

Why one base class: the `symphony` CLI turns any `SymphonyError` into one clear line and a non-zero exit,
while a genuine bug still shows its traceback. Reverts get their own subclasses (see `chain.reverts`),
named after the contract's custom errors.
"""

from __future__ import annotations


class SymphonyError(Exception):
    """A failure with a message meant for the user (bad input, unreachable service, refused transaction)."""


class ConfigError(SymphonyError):
    """Missing or invalid configuration (environment variable, file, option)."""


class ChainConnectionError(SymphonyError):
    """The RPC endpoint cannot be reached or answers for a different chain than expected."""


class ToolchainError(SymphonyError):
    """A toolchain binary (anvil, forge, solc) is missing or failed."""


class ServiceStartError(SymphonyError):
    """A server could not start: its port is in use, the address is not local, or a dependency is missing."""
