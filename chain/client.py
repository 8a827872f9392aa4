"""A signing client for one account on one RPC endpoint: deploy, transact, call, with decoded reverts.

Why not web3's signing middleware: we need (1) reverts decoded into our named exceptions both at estimation
and after mining, (2) the nonce read from the node's pending state for each transaction, under a lock held until
its receipt (a counter kept locally went stale when a reorg dropped the account's transactions — `anvil_rollback`
— and the next transaction then sat on a nonce gap for 30 s, failed, and was mined after all behind its resend:
one RPC per transaction is cheaper than a send counted twice), (3)
`eth_sendRawTransactionSync` (one round trip, receipt included) where the node supports it, which removes the
receipt-polling delay that otherwise dominates chain overhead on anvil, and (4) a send that rides out an RPC
outage by resending its signed bytes, and takes "nonce too low" for those bytes as their landing, not a failure.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from typing import Any

import requests
from eth_account import Account
from eth_account.datastructures import SignedTransaction
from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.exceptions import BadFunctionCallOutput, ContractLogicError, TimeExhausted, TransactionNotFound, Web3RPCError
from web3.types import TxReceipt

from chain.compile import ContractArtifact
from core.errors import ChainConnectionError, ConfigError, SymphonyError
from chain.reverts import ContractRevert, decode_revert

log = logging.getLogger(__name__)

LINK_ERRORS = (requests.exceptions.RequestException, OSError)  # the endpoint did not answer: reset, refused, timed out

GAS_HEADROOM = 1.25  # estimate * headroom: state can change between estimation and inclusion
PRIVATE_KEY_ENV = "SYMPHONY_PRIVATE_KEY"


def _rpc_message(exc: Web3RPCError) -> str:
    message = exc.rpc_response.get("error", {}).get("message") if isinstance(getattr(exc, "rpc_response", None), dict) else None
    return str(message or exc)


def _out_of_gas(exc: Web3RPCError) -> bool:
    """anvil says "Out of gas: gas required exceeds allowance", "EVM error OutOfGas" or another of revm's
    out-of-gas halts ("EVM error ReentrancySentryOOG", "MemoryOOG", "PrecompileOOG", ...); geth "gas required
    exceeds"."""
    text = _rpc_message(exc).lower()
    return ("out of gas" in text or "outofgas" in text or "gas required exceeds" in text
            or re.search(r"evm error \w*oog\b", text) is not None)


class TransactionFailed(SymphonyError):
    """A transaction was mined but failed without revert data we could decode, or was never mined."""


class _RanOutOfGas(TransactionFailed):
    """Mined, and halted out of gas at its limit: it changed nothing but its sender's nonce and fee."""


def connect(rpc_url: str, *, timeout: float = 30.0, expected_chain_id: int | None = None) -> Web3:
    """An HTTP Web3 connection that is known to answer (and to be the expected chain, if one is given)."""
    if not rpc_url.startswith(("http://", "https://")):
        raise ConfigError(f"RPC URL must start with http:// or https://: {rpc_url!r}")
    # eth_chainId is cached: web3 asks for it before every call and estimate (half of all requests otherwise), and
    # one provider talks to one node. Nothing else is cached: block and log queries must see reorgs.
    provider = Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": timeout}, cache_allowed_requests=True,
                                 cacheable_requests={"eth_chainId"})
    w3 = Web3(provider)
    try:
        chain_id = w3.eth.chain_id
    except LINK_ERRORS as exc:
        raise ChainConnectionError(f"cannot reach RPC endpoint {rpc_url} ({type(exc).__name__})") from None
    except Web3RPCError as exc:
        raise ChainConnectionError(f"RPC endpoint {rpc_url} answered with an error: {exc}") from None
    if expected_chain_id is not None and chain_id != expected_chain_id:
        raise ChainConnectionError(f"RPC endpoint {rpc_url} is chain {chain_id}, expected chain {expected_chain_id}")
    provider.exception_retry_configuration = _outage_retries()
    return w3


OUTAGE_RETRIES = 9  # read retries once connected; backoff 0.125 s doubling: ~32 s of outage ridden out per read
SEND_OUTAGE_S = 32.0  # a send resends its signed bytes this long (ChainClient._submit), like a read


def _outage_retries():  # noqa: ANN202 - web3's ExceptionRetryConfiguration (imported lazily, as web3 does)
    """How a connected client rides out an RPC outage: every idempotent read (web3's allowlist: eth_call, eth_getLogs,
    eth_getBlockByNumber, eth_estimateGas, ...) is retried on a connection error or timeout for about 32 s.

    Why after the first answer and not from the start: an endpoint that never answered is a configuration error
    and must fail at once (web3's default, ~4 s); one that answered and then dropped (node restart, proxy or
    network hiccup) must not crash a requester in the middle of a task (issue #15: a 6 s RPC cut killed `symphony
    ask` with a traceback). A transaction rides it out in `ChainClient._submit`, which resends the same signed bytes
    (one nonce: mined once or not at all); it is never re-estimated or re-signed behind the caller's back."""
    from web3.providers.rpc.utils import REQUEST_RETRY_ALLOWLIST, ExceptionRetryConfiguration

    return ExceptionRetryConfiguration(errors=(requests.exceptions.ConnectionError, requests.exceptions.Timeout),
                                       retries=OUTAGE_RETRIES, backoff_factor=0.125, method_allowlist=REQUEST_RETRY_ALLOWLIST)


def private_key_from_env(variable: str = PRIVATE_KEY_ENV) -> str:
    key = os.environ.get(variable, "").strip()
    if not key:
        raise ConfigError(f"no private key: set the environment variable {variable}")
    try:
        Account.from_key(key)
    except (ValueError, TypeError):
        raise ConfigError(f"the environment variable {variable} does not hold a valid private key") from None
    return key


class ChainClient:
    """One account's view of one chain."""

    def __init__(
        self,
        rpc_url: str,
        private_key: str | None = None,
        *,
        expected_chain_id: int | None = None,
        timeout: float = 30.0,
        w3: Web3 | None = None,
    ) -> None:
        self.rpc_url = rpc_url
        self.w3 = w3 or connect(rpc_url, timeout=timeout, expected_chain_id=expected_chain_id)
        self.chain_id: int = self.w3.eth.chain_id
        self.account: LocalAccount | None = Account.from_key(private_key) if private_key else None
        self._lock = threading.Lock()
        self._sync_send: bool | None = None  # does the node support eth_sendRawTransactionSync?
        self._names: dict[str, str] = {}  # checksum address -> contract name, for error messages

    def fail_fast(self) -> None:
        """From now on a read fails at the first connection error instead of riding out an outage (`connect`).

        Why: last transactions at shutdown (a worker's final heartbeat) meet a chain that may already be gone, e.g.
        anvil stopped by the same Ctrl-C; waiting ~32 s for it would hold the exit."""
        provider = self.w3.provider
        if hasattr(provider, "exception_retry_configuration"):
            provider.exception_retry_configuration = None

    # -- identity --------------------------------------------------------------------------------------
    @property
    def address(self) -> str:
        if self.account is None:
            raise ConfigError("this client has no private key; it can only read")
        return self.account.address

    def balance(self, address: str | None = None) -> int:
        return self.w3.eth.get_balance(Web3.to_checksum_address(address or self.address))

    # -- contracts -------------------------------------------------------------------------------------
    def contract(self, address: str, abi: list[dict], name: str | None = None) -> Contract:
        checksum = Web3.to_checksum_address(address)
        if name:
            self._names[checksum] = name
        return self.w3.eth.contract(address=checksum, abi=abi)

    def deploy(self, artifact: ContractArtifact, *args: Any, value: int = 0) -> Contract:
        """Deploy `artifact` with constructor `args`; returns the bound contract."""
        if not artifact.deployable:
            raise ConfigError(f"{artifact.name} is abstract or an interface and cannot be deployed")
        factory = self.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        data = factory.constructor(*args).data_in_transaction
        receipt = self._send({"data": data, "value": value}, contract=artifact.name)
        return self.contract(receipt["contractAddress"], artifact.abi, artifact.name)

    def transact(self, call: ContractFunction, *, value: int = 0, gas: int | None = None, min_gas: int = 0) -> TxReceipt:
        """Send a state-changing contract call and wait for its receipt; reverts raise `ContractRevert` subclasses.

        `min_gas` floors the estimated limit, for calls whose cost depends on who is first (the reveal that
        completes a vote settles the whole task; the delivery that finds the next step closable assigns it): an
        estimate made just before another party's transaction lands can be far too low. Only used gas is paid.
        """
        tx = {"to": call.address, "data": call._encode_transaction_data(), "value": value}
        contract = self._names.get(call.address)
        if gas is None and min_gas:
            gas = max(self._estimate(tx, contract), min_gas)
        return self._send(tx, gas=gas, contract=contract)

    def call(self, call: ContractFunction, *, block: int | str = "latest") -> Any:
        """A read-only call with decoded reverts."""
        try:
            return call.call({"from": self.account.address} if self.account else {}, block_identifier=block)
        except ContractLogicError as exc:
            raise decode_revert(exc.data, contract=self._names.get(call.address)) from None
        except BadFunctionCallOutput:
            raise ConfigError(f"no contract answers at {call.address} on chain {self.chain_id} (wrong manifest or chain?)") from None

    # -- transaction plumbing --------------------------------------------------------------------------
    def _next_nonce(self) -> int:
        """The node's count of this account's transactions, pending included (see the module docstring)."""
        return self.w3.eth.get_transaction_count(self.address, "pending")

    def _estimate(self, tx: dict, contract: str | None) -> int:
        """Gas for `tx` with headroom. A revert raises its decoded custom error. Running out of gas at the node's
        allowance is retried once — the estimate runs against pending state, and a transaction that lands in
        between can change what the call does (seen under load in scripts/soak.py) — then raises one clear
        TransactionFailed instead of the node's raw RPC error."""
        tries = 2
        while True:
            try:
                # "pending": the transaction lands in the next block, whose timestamp is now, not the last block's.
                return int(self.w3.eth.estimate_gas({"from": self.address, **tx}, "pending") * GAS_HEADROOM)
            except ContractLogicError as exc:
                raise decode_revert(exc.data, contract=contract) from None
            except Web3RPCError as exc:
                tries -= 1
                if not _out_of_gas(exc):
                    raise
                if tries == 0:
                    raise TransactionFailed(f"{contract or 'transaction'} runs out of gas at any gas limit the node "
                                            f"allows ({_rpc_message(exc)})") from None
                time.sleep(0.5)

    def _fees(self) -> dict[str, int]:
        gas_price = self.w3.eth.gas_price
        priority = min(gas_price, 10**9)
        return {"maxFeePerGas": 2 * gas_price + priority, "maxPriorityFeePerGas": priority}

    def _send(self, tx: dict, *, gas: int | None = None, contract: str | None = None) -> TxReceipt:
        """Sign, send, wait. A transaction mined but halted out of gas is sent once more with a fresh estimate and at
        least 1.5x the gas: the estimate runs against pending state, and a transaction that lands first can make the
        call dearer (seen in scripts/soak.py: "EVM error OutOfGas" / "ReentrancySentryOOG" reached the requester and
        its chain was abandoned). Safe to repeat: the halted one changed nothing but the nonce it used."""
        retried = False
        while True:
            with self._lock:
                full = {**tx, "chainId": self.chain_id, "gas": gas or self._estimate(tx, contract), **self._fees()}
                full["nonce"] = self._next_nonce()
                signed = self.account.sign_transaction(full)  # type: ignore[union-attr]
                receipt = self._submit(signed)
            if receipt["status"] == 1:
                return receipt
            failure = self._explain_failure(full, receipt, contract)
            if not isinstance(failure, _RanOutOfGas) or retried:
                raise failure
            retried = True
            gas = max(self._estimate(tx, contract), int(full["gas"] * 1.5))
            log.warning("%s ran out of gas at %d (the state it was estimated on changed); sending it again with %d",
                        contract or "a transaction", full["gas"], gas)

    def _submit(self, signed: SignedTransaction) -> TxReceipt:
        """Submit one signed transaction and return its receipt, riding out an RPC outage of up to SEND_OUTAGE_S.

        Why resending is safe: what is resent is the same signed bytes — one nonce, one hash — so the node mines them
        once or not at all. A resend that finds them already pooled or mined (the request reached the node, its
        answer was lost) is told "nonce too low" / "already imported", and then waits for *their* receipt. A new
        estimate or a new signature would not be safe: that would be a second transaction (issue #15: a requester's
        transaction sent during a cut failed its whole chain)."""
        deadline, delay = None, 0.125
        while True:
            try:
                return self._submit_once(signed)
            except _LinkDown as down:
                now = time.monotonic()
                if deadline is None:
                    deadline = now + self._send_outage_s()
                    if now < deadline:
                        log.warning("the RPC endpoint did not answer a send (%s); resending transaction %s for up to "
                                    "%.0f s (the same signed bytes: mined once at most)", down.reason,
                                    signed.hash.to_0x_hex(), deadline - now)
                if now >= deadline:
                    raise ChainConnectionError(
                        f"cannot reach RPC endpoint {self.rpc_url} ({down.reason}); transaction "
                        f"{signed.hash.to_0x_hex()} was sent and may still be mined") from None
                time.sleep(min(delay, deadline - now))
                delay = min(2 * delay, 4.0)

    def _send_outage_s(self) -> float:
        """How long a send rides out an outage: as long as reads do, and not at all after `fail_fast`."""
        return SEND_OUTAGE_S if getattr(self.w3.provider, "exception_retry_configuration", None) is not None else 0.0

    def _submit_once(self, signed: SignedTransaction) -> TxReceipt:
        raw = signed.raw_transaction
        if self._sync_send is not False:
            try:
                result = self.w3.provider.make_request("eth_sendRawTransactionSync", [raw.to_0x_hex()])
            except LINK_ERRORS as exc:
                raise _LinkDown(type(exc).__name__) from None
            if "result" in result and result["result"]:
                self._sync_send = True
                return _receipt(result["result"])
            error = result.get("error", {})
            if _already_sent(error):
                return self._receipt_of_sent(signed)
            if _method_unsupported(error):
                self._sync_send = False
            else:
                raise self._rpc_failure(error)
        try:
            self.w3.eth.send_raw_transaction(raw)
        except Web3RPCError as exc:
            # web3 itself resends eth_sendRawTransaction on a connection error; a resend of bytes that had landed
            # comes back as "nonce too low" / "already imported"
            if _already_sent(exc.rpc_response.get("error", {}) if isinstance(exc.rpc_response, dict) else {}):
                return self._receipt_of_sent(signed)
            raise TransactionFailed(f"the node refused the transaction: {exc}") from None
        except LINK_ERRORS as exc:
            raise _LinkDown(type(exc).__name__) from None
        return self._wait_for_receipt(signed.hash)

    def _receipt_of_sent(self, signed: SignedTransaction) -> TxReceipt:
        """The receipt of a transaction the node says it already has; if it has another one at that nonce instead,
        this transaction will never be mined."""
        try:
            self.w3.eth.get_transaction(signed.hash)
        except TransactionNotFound:
            raise TransactionFailed(f"transaction {signed.hash.to_0x_hex()} was replaced: another transaction of "
                                    f"{self.address} took its nonce") from None
        except LINK_ERRORS as exc:
            raise _LinkDown(type(exc).__name__) from None
        return self._wait_for_receipt(signed.hash)

    def _wait_for_receipt(self, tx_hash: HexBytes) -> TxReceipt:
        try:
            return self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=120, poll_latency=0.02)
        except TimeExhausted:
            raise TransactionFailed(f"transaction {tx_hash.to_0x_hex()} was not mined within 120 s") from None
        except LINK_ERRORS as exc:
            raise _LinkDown(type(exc).__name__) from None

    def _rpc_failure(self, error: dict) -> SymphonyError:
        data = error.get("data")
        if isinstance(data, str) and data.startswith("0x") and len(data) >= 10:
            return decode_revert(data)
        return TransactionFailed(f"the node refused the transaction: {error.get('message', error)}")

    def _explain_failure(self, tx: dict, receipt: TxReceipt, contract: str | None) -> ContractRevert | TransactionFailed:
        """Replay a failed transaction as a call at its block's parent to recover the revert data."""
        replay = {k: tx[k] for k in ("to", "data", "value") if k in tx}
        failed = f"transaction {receipt['transactionHash'].to_0x_hex()}"
        if receipt["gasUsed"] >= tx["gas"]:  # it used all its gas: an out-of-gas halt (a revert leaves some)
            return _RanOutOfGas(f"{failed} ({contract or 'call'}) ran out of gas at its limit {tx['gas']}")
        try:
            self.w3.eth.call({"from": self.address, **replay, "gas": tx["gas"]}, receipt["blockNumber"] - 1)
        except ContractLogicError as exc:
            return decode_revert(exc.data, contract=contract)
        except Web3RPCError as exc:  # the replay halted (out of gas at the parent block's state, ...): one clear error
            if _out_of_gas(exc):
                return _RanOutOfGas(f"{failed} ({contract or 'call'}) ran out of gas at its limit {tx['gas']}")
            return TransactionFailed(f"{failed} failed ({_rpc_message(exc)})")
        return TransactionFailed(f"{failed} failed (state changed)")


class _LinkDown(Exception):
    """The endpoint did not answer a send (reset, refused, timed out); `reason` names the exception."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _already_sent(error: dict) -> bool:
    """The node already has a transaction at this nonce: anvil "nonce too low" / "transaction already imported",
    geth "already known" / "nonce too low"."""
    message = str(error.get("message", "")).lower() if isinstance(error, dict) else ""
    return "nonce too low" in message or "already imported" in message or "already known" in message


def _method_unsupported(error: dict) -> bool:
    message = str(error.get("message", "")).lower()
    return error.get("code") == -32601 or "not supported" in message or "method not found" in message or "does not exist" in message


def _receipt(raw: dict) -> TxReceipt:
    """Format a raw JSON receipt (from eth_sendRawTransactionSync) the way web3 formats eth_getTransactionReceipt."""
    from web3._utils.method_formatters import receipt_formatter
    from web3.datastructures import AttributeDict

    return AttributeDict.recursive(receipt_formatter(raw))

