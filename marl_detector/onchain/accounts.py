"""Deterministic keys for simulated traders, and a lean signer that mines each transaction at a chosen time.

Why deterministic keys: a replayed episode must put the same trader behind the same address every time, so
holder concentration and buy pressure rebuilt from logs are reproducible. Keys are derived from a seed and
the trader's name and are only ever used on a local development chain (anvil); funding comes from anvil's
dev accounts.

Why not `ChainClient` for each trade: the on-chain market mode must mine every transaction at the simulator's
timestamp (`evm_setNextBlockTimestamp`, anvil only) and sends thousands of them; fixed gas limits, a local
nonce per account and one fee quote keep it at two RPC round trips per transaction.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from web3 import Web3

from core.errors import ConfigError, SymphonyError
from chain.reverts import decode_revert



def is_anvil(w3: Web3) -> bool:
    """Whether the node is anvil (local, or a local fork of another chain, which keeps that chain's id)."""
    try:
        return str(w3.client_version).lower().startswith("anvil/")
    except Exception:  # a node without web3_clientVersion is certainly not anvil
        return False


class TradeFailed(SymphonyError):
    """A simulated trade's transaction failed on chain."""


def trader_account(seed: int, name: str) -> LocalAccount:
    """The local-chain account of simulated trader `name` (deterministic in `seed`)."""
    key = keccak(b"hideshill-sim:" + seed.to_bytes(32, "big") + b":" + name.encode())
    return Account.from_key(key)


@dataclass
class TimedSender:
    """Signs and sends transactions for many local accounts, each mined in its own block at a given timestamp.

    It counts nonces and token balances locally: markets whose traders overlap (same seed, several pools) must
    share one sender.
    """

    w3: Web3
    chain_id: int = 0
    nonces: dict[str, int] = field(default_factory=dict)
    #: (token, holder) -> balance as last known; shared by every market driven through this sender
    balances: dict[tuple[str, str], int] = field(default_factory=dict)
    _fees: dict[str, int] | None = None
    _sync: bool | None = None

    def __post_init__(self) -> None:
        self.chain_id = self.w3.eth.chain_id
        if not is_anvil(self.w3):
            raise ConfigError(
                f"the on-chain market mode warps block time and only runs on a local anvil (chain id {self.chain_id}, "
                f"node {self.w3.client_version!r})"
            )

    def rpc(self, method: str, params: list[Any]) -> Any:
        answer = self.w3.provider.make_request(method, params)  # type: ignore[arg-type]
        if "error" in answer:
            raise TradeFailed(f"{method} failed: {answer['error'].get('message', answer['error'])}")
        return answer["result"]

    def fees(self) -> dict[str, int]:
        if self._fees is None:
            base = self.w3.eth.get_block("latest")["baseFeePerGas"]
            self._fees = {"maxFeePerGas": 4 * base + 10**9, "maxPriorityFeePerGas": 10**9}
        return self._fees

    def send_at(
        self, timestamp: int, account: LocalAccount, tx: dict[str, Any], gas: int, *, shared: bool = False
    ) -> dict[str, Any]:
        """Mine `tx` from `account` in a block whose timestamp is exactly `timestamp`, or the latest block's when
        another party has already mined past it; returns the raw receipt.

        Why the second case: on a chain the market shares (a live detector committing while `detect market` plays),
        the other party's block takes the chain's clock (which `evm_setNextBlockTimestamp` set ahead to the replay's
        time) up to a second past the replay's next trade, and anvil refuses a timestamp lower than the previous
        block's: the whole replay died on it. The trade then goes in at the earliest time the chain allows.

        `shared=True` for an account another client also sends from (the operator): its nonce is read from the
        node each time instead of counted locally.
        """
        nonce = None if shared else self.nonces.get(account.address)
        if nonce is None:
            nonce = self.w3.eth.get_transaction_count(account.address, "pending")
        full = {**tx, "chainId": self.chain_id, "gas": gas, "nonce": nonce, **self.fees()}
        signed = account.sign_transaction(full)
        self._set_next_timestamp(timestamp)
        try:
            receipt = self._submit(signed.raw_transaction.to_0x_hex())
        except TradeFailed:
            self.nonces.pop(account.address, None)
            raise
        if not shared:
            self.nonces[account.address] = nonce + 1
        if int(receipt["status"], 16) != 1:
            raise self._explain(full, account, receipt)
        return receipt

    def _set_next_timestamp(self, timestamp: int, tries: int = 4) -> None:
        for attempt in range(tries):  # a third party may mine again between the read and the set
            try:
                self.rpc("evm_setNextBlockTimestamp", [hex(timestamp)])
                return
            except TradeFailed as exc:
                if "lower than previous block" not in str(exc) or attempt == tries - 1:
                    raise
                timestamp = max(timestamp, chain_time(self.w3))  # equal to the previous block's time is allowed

    def _submit(self, raw: str) -> dict[str, Any]:
        """`eth_sendRawTransactionSync` (receipt in one round trip), else send and poll for the receipt."""
        if self._sync is not False:
            answer = self.w3.provider.make_request("eth_sendRawTransactionSync", [raw])  # type: ignore[arg-type]
            if answer.get("result"):
                self._sync = True
                return answer["result"]
            error = answer.get("error") or {}
            if error.get("code") != -32601 and "not supported" not in str(error.get("message", "")).lower():
                raise TradeFailed(f"the node refused the transaction: {error.get('message', error)}")
            self._sync = False
        tx_hash = self.rpc("eth_sendRawTransaction", [raw])
        for _ in range(2000):
            receipt = self.rpc("eth_getTransactionReceipt", [tx_hash])
            if receipt is not None:
                return receipt
            time.sleep(0.005)
        raise TradeFailed(f"transaction {tx_hash} was not mined within 10 s (is automine off?)")

    def _explain(self, tx: dict[str, Any], account: LocalAccount, receipt: dict[str, Any]) -> SymphonyError:
        block = int(receipt["blockNumber"], 16) - 1
        call = {"from": account.address, "to": tx.get("to"), "data": tx.get("data", "0x"), "value": hex(tx.get("value", 0))}
        answer = self.w3.provider.make_request("eth_call", [call, hex(block)])  # type: ignore[arg-type]
        data = (answer.get("error") or {}).get("data")
        if isinstance(data, str) and data.startswith("0x"):
            return decode_revert(data)
        return TradeFailed(f"transaction {receipt['transactionHash']} failed (out of gas?)")


def set_next_block_time(w3: Web3, timestamp: int) -> None:
    """The next mined block gets exactly `timestamp` (anvil; equal to the previous block's time is allowed)."""
    answer = w3.provider.make_request("evm_setNextBlockTimestamp", [hex(timestamp)])  # type: ignore[arg-type]
    if "error" in answer:
        raise TradeFailed(f"evm_setNextBlockTimestamp failed: {answer['error'].get('message', answer['error'])}")


def chain_time(w3: Web3) -> int:
    """Timestamp of the latest block."""
    return int(w3.eth.get_block("latest")["timestamp"])


def mine_at(w3: Web3, timestamp: int) -> None:
    """Mine an empty block at exactly `timestamp` (anvil), so calls and gas estimates see that time."""
    answer = w3.provider.make_request("evm_mine", [hex(timestamp)])  # type: ignore[arg-type]
    if "error" in answer:
        raise TradeFailed(f"evm_mine failed: {answer['error'].get('message', answer['error'])}")
