"""Typed binding of CapabilityLedger: registration, heartbeats, stake, evidence and reputation, paginated views."""

from __future__ import annotations

from dataclasses import dataclass

from web3.contract import Contract
from web3.types import TxReceipt

from chain.client import ChainClient


@dataclass(frozen=True)
class AgentInfo:
    agent: str
    name: str
    model_id: str
    endpoint: str
    tags: tuple[str, ...]
    capability: bytes
    norm: int
    stake: int
    reputation: int
    capacity: int
    free_capacity: int
    available: bool
    active: bool
    last_heartbeat: int
    unlock_at: int
    pending_capability: bytes
    pending_at: int
    epoch: int
    successes: int
    failures: int

    @classmethod
    def from_tuple(cls, raw: tuple) -> "AgentInfo":
        values = list(raw)
        values[4] = tuple(values[4])
        values[5] = bytes(values[5])
        values[15] = bytes(values[15])
        return cls(*values)

    @property
    def declared_capability(self) -> bytes:
        """The vector the agent declared last: the pending one if a change is scheduled, else the effective one."""
        return self.pending_capability if self.pending_at else self.capability


class CapabilityLedger:
    def __init__(self, client: ChainClient, contract: Contract) -> None:
        self.client = client
        self.contract = contract
        self.address = contract.address

    # -- writes ----------------------------------------------------------------------------------------
    def register(self, name: str, model_id: str, endpoint: str, tags: list[str], capability: bytes, capacity: int, stake: int) -> TxReceipt:
        fn = self.contract.functions.register(name, model_id, endpoint, list(tags), capability, capacity)
        return self.client.transact(fn, value=stake)

    def update(self, model_id: str, endpoint: str, tags: list[str], capability: bytes, capacity: int) -> TxReceipt:
        """Model id, endpoint and capacity change now; a new vector or tag set counts PROFILE_DELAY later."""
        return self.client.transact(self.contract.functions.update(model_id, endpoint, list(tags), capability, capacity))

    def heartbeat(self, available: bool) -> TxReceipt:
        return self.client.transact(self.contract.functions.heartbeat(available))

    def add_stake(self, amount: int) -> TxReceipt:
        return self.client.transact(self.contract.functions.addStake(), value=amount)

    def deregister(self) -> TxReceipt:
        return self.client.transact(self.contract.functions.deregister())

    def withdraw_stake(self) -> TxReceipt:
        return self.client.transact(self.contract.functions.withdrawStake())

    def set_authorized(self, protocol: str, authorized: bool) -> TxReceipt:
        return self.client.transact(self.contract.functions.setAuthorized(protocol, authorized))

    def adjust_reputation(self, agent: str, delta: int) -> TxReceipt:
        return self.client.transact(self.contract.functions.adjustReputation(agent, delta))

    # -- reads -----------------------------------------------------------------------------------------
    def min_stake(self) -> int:
        return self.client.call(self.contract.functions.minStake())

    def slash_unit(self) -> int:
        return self.client.call(self.contract.functions.slashUnit())

    def min_bid_reputation(self) -> int:
        return self.client.call(self.contract.functions.MIN_BID_REPUTATION())

    def can_bid(self, agents: list[AgentInfo]) -> list[AgentInfo]:
        """The agents the ledger lets bid now: active, available, reputation and stake at the contract's minimums
        (CapabilityLedger._eligible)."""
        unit, reputation = self.slash_unit(), self.min_bid_reputation()
        return [a for a in agents if a.active and a.available and a.reputation >= reputation and a.stake >= unit]

    def profile_delay(self) -> int:
        return self.client.call(self.contract.functions.PROFILE_DELAY())

    def is_active(self, agent: str) -> bool:
        return self.client.call(self.contract.functions.isActive(agent))

    def is_available(self, agent: str) -> bool:
        return self.client.call(self.contract.functions.isAvailable(agent))

    def reputation(self, agent: str) -> int:
        return self.client.call(self.contract.functions.reputationOf(agent))

    def stake(self, agent: str) -> int:
        return self.client.call(self.contract.functions.stakeOf(agent))

    def evidence(self, agent: str, kind: bytes) -> tuple[int, int]:
        """(successes in the current epoch, failures ever) for work of `kind`."""
        s, f = self.client.call(self.contract.functions.evidenceOf(agent, kind))
        return int(s), int(f)

    def trust(self, agent: str, kind: bytes) -> int:
        return self.client.call(self.contract.functions.trustOf(agent, kind))

    def bid_score(self, agent: str, requirement: bytes, kind: bytes) -> tuple[bool, int, bool]:
        """(eligible, score in WAD, newcomer) exactly as TaskBeacon.bid gets it."""
        ok, score, newcomer = self.client.call(self.contract.functions.bidScore(agent, requirement, kind))
        return bool(ok), int(score), bool(newcomer)

    def get_agent(self, agent: str) -> AgentInfo:
        return AgentInfo.from_tuple(self.client.call(self.contract.functions.getAgent(agent)))

    def active_count(self) -> int:
        return self.client.call(self.contract.functions.activeAgentCount())

    def active_agents(self, page_size: int = 50) -> list[AgentInfo]:
        """Every active agent, fetched page by page (each page is one bounded eth_call)."""
        agents: list[AgentInfo] = []
        offset = 0
        while True:
            page = self.client.call(self.contract.functions.getActiveAgents(offset, page_size))
            agents.extend(AgentInfo.from_tuple(raw) for raw in page)
            if len(page) < page_size:
                return agents
            offset += page_size

    def match_score(self, agent: str, requirement: bytes) -> int:
        return self.client.call(self.contract.functions.matchScore(agent, requirement))
