"""ChainClient: deploy, transact, reads, and reverts decoded into exceptions named after custom errors."""

from __future__ import annotations

import pytest

from chain import reverts
from chain.client import ChainClient, TransactionFailed, connect, private_key_from_env
from core.errors import ChainConnectionError, ConfigError


def test_transact_and_read(probe):
    client, contract = probe
    receipt = client.transact(contract.functions.set(42, b"hello"))
    assert receipt["status"] == 1
    assert client.call(contract.functions.value()) == 42
    (event,) = contract.events.ValueSet().process_receipt(receipt)
    assert event["args"]["note"] == b"hello"


def test_custom_error_at_estimation(probe):
    client, contract = probe
    with pytest.raises(reverts.revert_class("TooBig")) as info:
        client.transact(contract.functions.set(5000, b""))
    assert info.value.args_dict == {"value": 5000, "maximum": 1000}
    assert "TooBig(value=5000, maximum=1000)" in str(info.value)
    assert client.call(contract.functions.value()) == 0  # nothing changed


def test_a_call_that_runs_out_of_gas_at_any_limit_is_one_clear_error(probe):
    """Estimation fails with the node's raw "out of gas" RPC error; the client retries once (pending state can
    move) and then raises TransactionFailed naming the contract, without sending anything."""
    client, contract = probe
    nonce = client.w3.eth.get_transaction_count(client.address)
    with pytest.raises(TransactionFailed, match="runs out of gas"):
        client.transact(contract.functions.exhaust())
    assert client.w3.eth.get_transaction_count(client.address) == nonce, "nothing was sent"
    client.transact(contract.functions.set(5, b""))  # the client is still usable
    assert client.call(contract.functions.value()) == 5


def test_a_rollback_that_drops_the_accounts_transactions_does_not_stall_the_next_one(probe, anvil):
    """`anvil_rollback` drops the block of this account's last transaction: the next transaction takes the
    nonce the chain now expects, is mined at once (a stale local counter left a gap: a 30 s confirmation timeout,
    then the "failed" transaction mined after all behind its resend), and nothing else is mined later."""
    import time

    client, contract = probe
    client.transact(contract.functions.set(1, b""))
    client.transact(contract.functions.set(2, b""))
    nonce = client.w3.eth.get_transaction_count(client.address)
    anvil.rpc("anvil_rollback", [1])
    assert client.w3.eth.get_transaction_count(client.address) == nonce - 1
    started = time.monotonic()
    client.transact(contract.functions.set(3, b""))
    assert time.monotonic() - started < 5
    anvil.mine(3)
    assert client.w3.eth.get_transaction_count(client.address) == nonce, "exactly one transaction took the slot"
    assert client.call(contract.functions.value()) == 3


def test_custom_error_after_mining_is_decoded_too(probe):
    """With an explicit gas limit there is no estimation: the failure is found in the receipt and replayed."""
    client, contract = probe
    with pytest.raises(reverts.revert_class("TooBig")):
        client.transact(contract.functions.set(5000, b""), gas=200_000)
    # the nonce stays in sync after a mined failure
    client.transact(contract.functions.set(7, b""))
    assert client.call(contract.functions.value()) == 7


def test_custom_error_in_a_call(probe):
    client, contract = probe
    with pytest.raises(reverts.revert_class("Unauthorized")) as info:
        client.call(contract.functions.onlyZero())
    assert info.value.args_dict["caller"] == client.address


def test_reason_string_and_panic(probe):
    client, contract = probe
    with pytest.raises(reverts.RevertWithReason, match="plain reason"):
        client.call(contract.functions.requireFalse())
    with pytest.raises(reverts.PanicRevert, match="division by zero"):
        client.call(contract.functions.divide(1, 0))


def test_revert_classes_are_unique_per_name():
    assert reverts.revert_class("TooBig") is reverts.revert_class("TooBig")
    assert issubclass(reverts.revert_class("TooBig"), reverts.ContractRevert)


def test_project_errors_are_module_attributes():
    assert reverts.InsufficientStake is reverts.revert_class("InsufficientStake")
    with pytest.raises(AttributeError):
        reverts.NoContractDeclaresThis  # noqa: B018


def test_unreachable_rpc_is_one_clear_error():
    with pytest.raises(ChainConnectionError, match="cannot reach RPC endpoint"):
        connect("http://127.0.0.1:9")


def test_wrong_chain_id_is_refused(anvil):
    with pytest.raises(ChainConnectionError, match="expected chain 1"):
        ChainClient(anvil.rpc_url, expected_chain_id=1)


def test_bad_url_and_missing_key(monkeypatch):
    with pytest.raises(ConfigError, match="must start with http"):
        connect("localhost:8545")
    monkeypatch.delenv("SYMPHONY_PRIVATE_KEY", raising=False)
    with pytest.raises(ConfigError, match="SYMPHONY_PRIVATE_KEY"):
        private_key_from_env()


def test_read_only_client_cannot_sign(anvil):
    with pytest.raises(ConfigError, match="no private key"):
        ChainClient(anvil.rpc_url).address


# -- a send during an RPC outage (issue #15) ---------------------------------------------------------------------
def _through(proxy, probe):  # noqa: ANN001, ANN202 - the probe fixture's client, its contract, re-reached through `proxy`
    client, contract = probe
    via = ChainClient(proxy.url, client.account.key.to_0x_hex())
    return via, via.contract(contract.address, contract.abi, "Probe")


@pytest.mark.parametrize("sync_send", [True, False], ids=["sendRawTransactionSync", "sendRawTransaction"])
@pytest.mark.parametrize("forward", [True, False], ids=["answer-lost", "request-dropped"])
def test_a_send_during_an_rpc_cut_is_mined_exactly_once(probe, sync_send, forward):
    """The link is cut at the send itself — the transaction either reached the node and its answer was lost, or
    never reached it — and stays cut for 3 s. The client resends the same signed bytes until the node answers and
    returns that transaction's receipt: one transaction mined, none lost, none doubled (before: one
    ChainConnectionError, and for the answer-lost case a transaction the caller believed failed was on chain).
    The plain eth_sendRawTransaction path is resent by web3 itself; the landed bytes then read "nonce too low"."""
    import time

    from tests.reliability.rpc_proxy import RpcProxy

    client, contract = probe
    with RpcProxy(client.rpc_url) as proxy:
        via, probe_via = _through(proxy, probe)
        via._sync_send = None if sync_send else False
        nonce = client.w3.eth.get_transaction_count(client.address)
        proxy.cut_on((b"eth_sendRawTransaction",), 3.0, forward=forward)
        started = time.monotonic()
        receipt = via.transact(probe_via.functions.set(7, b"once"))
        assert time.monotonic() - started >= 2.5, "the send met the cut"
    assert receipt["status"] == 1
    assert client.w3.eth.get_transaction_count(client.address) == nonce + 1, "exactly one transaction"
    logs = contract.events.ValueSet().get_logs(from_block=max(0, receipt["blockNumber"] - 5))
    assert [log["transactionHash"] for log in logs] == [receipt["transactionHash"]]
    assert client.call(contract.functions.value()) == 7


def test_a_send_gives_up_after_the_outage_window_with_one_clear_error(probe, monkeypatch):
    """A cut longer than SEND_OUTAGE_S (2 s here), and a client told to fail fast: one ChainConnectionError
    that names the transaction (it may still be mined), nothing re-signed."""
    import time

    import chain.client as client_module
    from tests.reliability.rpc_proxy import RpcProxy

    client, contract = probe
    monkeypatch.setattr(client_module, "SEND_OUTAGE_S", 2.0)
    with RpcProxy(client.rpc_url) as proxy:
        via, probe_via = _through(proxy, probe)
        nonce = client.w3.eth.get_transaction_count(client.address)
        proxy.cut_on((b"eth_sendRawTransaction",), 8.0, forward=False)
        started = time.monotonic()
        with pytest.raises(ChainConnectionError, match="was sent and may still be mined"):
            via.transact(probe_via.functions.set(8, b""))
        assert 2.0 <= time.monotonic() - started < 6.0
        time.sleep(max(0.0, 8.5 - (time.monotonic() - started)))
        via.fail_fast()
        proxy.cut_on((b"eth_sendRawTransaction",), 3.0, forward=False)
        started = time.monotonic()
        with pytest.raises(ChainConnectionError, match="cannot reach RPC endpoint"):
            via.transact(probe_via.functions.set(9, b""))
        assert time.monotonic() - started < 1.5, "fail_fast: no outage ridden out"
    assert client.w3.eth.get_transaction_count(client.address) == nonce, "nothing reached the node"


# -- a transaction that is mined but halts out of gas (scripts/soak.py) ---------------------------------------------
def test_a_transaction_mined_out_of_gas_is_sent_once_more_with_a_fresh_estimate(probe, monkeypatch, caplog):
    """Its estimate was made on state that changed before it landed (injected: the first estimate is too low); it is
    mined, halts out of gas, and is sent once more with a fresh estimate — a new transaction is safe, the halted one
    changed nothing. Before: the node's raw "EVM error OutOfGas" from replaying it reached the caller."""
    client, contract = probe
    real = client._estimate
    calls = []

    def first_too_low(tx, name):  # noqa: ANN001, ANN202
        calls.append(name)
        return 23_000 if len(calls) == 1 else real(tx, name)

    monkeypatch.setattr(client, "_estimate", first_too_low)
    nonce = client.w3.eth.get_transaction_count(client.address)
    receipt = client.transact(contract.functions.set(9, b"again"))
    assert receipt["status"] == 1 and client.call(contract.functions.value()) == 9
    assert client.w3.eth.get_transaction_count(client.address) == nonce + 2, "the halted one and its resend"
    assert "ran out of gas at 23000" in caplog.text


def test_a_transaction_that_runs_out_of_gas_twice_is_one_clear_error(probe, monkeypatch):
    client, contract = probe
    monkeypatch.setattr(client, "_estimate", lambda tx, name: 23_000)  # 1.5x is still too little for set()
    nonce = client.w3.eth.get_transaction_count(client.address)
    with pytest.raises(TransactionFailed, match=r"\(Probe\) ran out of gas at its limit 34500"):
        client.transact(contract.functions.set(9, b""))
    assert client.w3.eth.get_transaction_count(client.address) == nonce + 2, "bounded: one resend"
    assert client.call(contract.functions.value()) == 0


@pytest.mark.parametrize("message, oog", [("EVM error OutOfGas", True), ("EVM error ReentrancySentryOOG", True),
                                          ("EVM error MemoryOOG", True), ("Out of gas: gas required exceeds allowance: 30000000", True),
                                          ("execution reverted", False), ("EVM error InvalidFEOpcode", False)])
def test_every_out_of_gas_halt_of_the_node_is_recognised(message, oog):
    from web3.exceptions import Web3RPCError

    from chain.client import _out_of_gas

    exc = Web3RPCError(message, rpc_response={"error": {"code": -32603, "message": message}})
    assert _out_of_gas(exc) is oog
