"""A detector's open predictions on `EvaluationLog`: kept across restarts, revealed and resolved when due.

Why a book of its own: every account that commits predictions — the live detector watching pools, a detector
agent answering Symphony detection requests, the committee entry a requester logs for a settled vote — owes
the log the same follow-up. A prediction never revealed scores the worst score, so the salts must survive a
crash (written before anything else happens, file mode 0600: they are secrets until revealed), the reveal must
land before `t0 + H`, and the entry is resolved once `t0 + H` has passed.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from chain.reverts import ContractRevert
from core.errors import ConfigError
from marl_detector.onchain.evaluation import EvaluationLogClient, PendingPrediction, Status, commitment
from marl_detector.outcome import SCORE_EXPIRED

log = logging.getLogger(__name__)


@dataclass
class StepReport:
    committed: list[int] = field(default_factory=list)
    revealed: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    discovered: list[str] = field(default_factory=list)  # pools followed from this pass on ("TICKER 0x…")
    lost: list[int] = field(default_factory=list)  # hidden entries somebody resolved first: expired (−15), nothing to reveal
    feed_rejected: str | None = None  # one line: the post feed lines skipped this pass, counted


@dataclass
class ShutdownReport:
    """What a stopping detector did with its open predictions, and what the ones it could not reveal will cost."""

    revealed: list[int] = field(default_factory=list)
    hidden: list[PendingPrediction] = field(default_factory=list)  # still committed: windows not closed, or reveal failed
    failed: list[str] = field(default_factory=list)  # reveals the node refused, with why
    lost: list[int] = field(default_factory=list)  # resolved by somebody else before they were revealed: expired
    awaiting: list[PendingPrediction] = field(default_factory=list)  # revealed, horizon not passed (safe: anyone may resolve them)

    @property
    def cost(self) -> int:
        """Points the hidden entries lose if nobody reveals them before their horizon ends (the contract's
        `EXPIRED_SCORE` each, the worst score there is)."""
        return SCORE_EXPIRED * len(self.hidden)


def owed_predictions(state_path: Path | None) -> int:
    """How many unsettled predictions (salts still owed to some EvaluationLog) a state file holds; 0 if none or no file.

    Why before anything is sent: a command about to deploy a new EvaluationLog (`detect run --deploy-market`) must
    refuse a state file whose salts belong to another log before it deploys, not after."""
    if state_path is None or not Path(state_path).exists():
        return 0
    try:
        data = json.loads(Path(state_path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"state file {state_path} is not readable JSON ({exc}); move it away to start afresh") from None
    if not isinstance(data, dict):
        raise ConfigError(f"state file {state_path} is not a detector state file; move it away to start afresh")
    return sum(len(data.get(k) or []) for k in ("pending", "open"))


def chain_identity(log_client: EvaluationLogClient) -> dict[str, Any]:
    """Which chain and log a state file belongs to: chain id, genesis block hash, EvaluationLog address.

    Why the genesis hash: a restarted anvil has the same chain id and, replaying the same deployment, the same
    contract addresses, but a new genesis block (its timestamp differs); salts saved for the old chain must never
    be overwritten by the new one's (they may still be revealable there) nor revealed against it.
    """
    w3 = log_client.client.w3
    return {"chain_id": int(log_client.client.chain_id), "genesis": w3.eth.get_block(0)["hash"].to_0x_hex(),
            "evaluation_log": log_client.log.address}


class PredictionBook:
    """Committed-not-revealed (`pending`) and revealed-not-resolved (`open`) predictions of one account.

    `reveal_delay` seconds after its commit a prediction is revealed (None: half its horizon; in any case one
    second before its horizon ends). Voided entries (the account traded the pool) are resolved like any other:
    the keeper has no say in the penalty. `extra` is the owner's own small state (e.g. the live detector's schedule), saved alongside.
    """

    def __init__(self, log_client: EvaluationLogClient, state_path: Path | None, reveal_delay: int | None) -> None:
        self.log = log_client
        self.state_path = Path(state_path) if state_path is not None else None
        self.reveal_delay = reveal_delay
        self.pending: dict[int, PendingPrediction] = {}
        self.open: dict[int, PendingPrediction] = {}
        self.extra: dict[str, Any] = {}
        self.identity: dict[str, Any] | None = None
        self.restored = 0  # predictions read back from the state file
        self.expired_while_stopped: list[int] = []  # saved hidden predictions a keeper resolved (expired) meanwhile
        self._load()

    # -- state across restarts -------------------------------------------------------------------------
    def _load(self) -> None:
        if self.state_path is None:
            return
        self.identity = chain_identity(self.log)
        if not self.state_path.exists():
            return
        try:
            data = json.loads(self.state_path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(f"state file {self.state_path} is not readable JSON ({exc}); move it away to start afresh") from None
        if not isinstance(data, dict):
            raise ConfigError(f"state file {self.state_path} is not a detector state file; move it away to start afresh")
        saved = data.get("chain")
        if saved is not None and saved != self.identity and not (data.get("pending") or data.get("open")):
            log.warning("state file %s was for another chain and owes it nothing; starting afresh", self.state_path)
            return
        if saved is not None and saved != self.identity:
            raise ConfigError(
                f"state file {self.state_path} belongs to chain {saved.get('chain_id')} (genesis {str(saved.get('genesis'))[:10]}…, "
                f"EvaluationLog {saved.get('evaluation_log')}), not to this one (chain {self.identity['chain_id']}, genesis "
                f"{self.identity['genesis'][:10]}…, EvaluationLog {self.identity['evaluation_log']}); it may hold salts still "
                f"owed to that chain: give this chain another --state file")
        dropped = 0
        for key, target in (("pending", self.pending), ("open", self.open)):
            for d in data.get(key, []):
                try:
                    p = PendingPrediction(**{**d, "model_hash": bytes.fromhex(d["model_hash"]),
                                             "salt": bytes.fromhex(d["salt"])})
                except (TypeError, KeyError, ValueError):  # a v1 state file (no window ids): nothing to reveal
                    dropped += 1
                    continue
                state = self._saved_state(p)
                if state == "ours":
                    target[p.eval_id] = p
                    self.restored += 1
                elif state == "settled":  # resolved while nobody ran: a hidden one expired (−15)
                    if key == "pending":
                        self.expired_while_stopped.append(p.eval_id)
                else:
                    dropped += 1
        if dropped:
            # A state file from another chain or deployment (e.g. a restarted anvil at the same addresses).
            log.warning("ignored %d saved predictions that this chain's EvaluationLog does not hold", dropped)
        else:
            self.extra = dict(data.get("extra", {}))

    def _saved_state(self, p: PendingPrediction) -> str:
        """`ours`: the saved prediction opens the unsettled commitment stored under its id, by this account;
        `settled`: it does, but somebody resolved the entry already; `foreign`: it is not this log's entry."""
        try:
            e = self.log.get(p.eval_id)
        except ContractRevert:
            return "foreign"
        c = commitment(p.window_id, self.log.client.address, p.label, p.confidence, p.model_hash, p.salt)
        if e.detector != self.log.client.address or e.window_id != p.window_id or e.commitment != "0x" + c.hex():
            return "foreign"
        return "settled" if e.settled else "ours"

    def save(self) -> None:
        if self.state_path is None:
            return

        def enc(p: PendingPrediction) -> dict:
            return {**asdict(p), "model_hash": p.model_hash.hex(), "salt": p.salt.hex()}

        data = {"chain": self.identity, "pending": [enc(p) for p in self.pending.values()],
                "open": [enc(p) for p in self.open.values()], "extra": self.extra}
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        tmp.chmod(0o600)
        tmp.replace(self.state_path)

    # -- writing ---------------------------------------------------------------------------------------
    def commit(self, window_id: int, label: int, confidence_bp: int, model_hash: bytes) -> PendingPrediction:
        """Commit a hidden prediction about window `window_id` and save its salt before returning."""
        p = self.log.commit(window_id, label, confidence_bp, model_hash)
        self.pending[p.eval_id] = p
        self.save()
        return p

    def reveal_now(self, eval_id: int) -> None:
        """Reveal at once (when the prediction is public anyway, e.g. a revealed vote)."""
        p = self.pending.pop(eval_id)
        self.log.reveal(p)
        self.open[eval_id] = p
        self.save()

    # -- the follow-up ---------------------------------------------------------------------------------
    def settle_due(self, now: int, report: StepReport | None = None) -> StepReport:
        """Reveal what is due for revealing, resolve what is past its horizon; `now` is chain time."""
        report = report or StepReport()
        self._reveal_due(now, report)
        self._resolve_due(now, report)
        self.save()
        return report

    def _reveal_due(self, now: int, report: StepReport) -> None:
        for eval_id, p in sorted(self.pending.items()):
            delay = p.horizon // 2 if self.reveal_delay is None else self.reveal_delay
            if now < p.t0 + delay and now < p.t0 + p.horizon - 1:
                continue
            self._reveal(p, report)

    def _reveal(self, p: PendingPrediction, report: StepReport) -> bool:
        del self.pending[p.eval_id]
        try:
            self.log.reveal(p)
        except ContractRevert as exc:  # e.g. a keeper resolved it first (it expired): nothing left to do
            report.skipped.append(f"#{p.eval_id}: reveal refused ({exc})")
            if self._settled_elsewhere(p.eval_id):
                report.lost.append(p.eval_id)
            return False
        self.open[p.eval_id] = p
        report.revealed.append(p.eval_id)
        return True

    def reveal_closed(self, now: int, report: StepReport | None = None) -> StepReport:
        """Reveal at once every prediction whose window no longer takes commits (`now >= t0`).

        Why not the others: before `t0` other detectors may still commit to the window, and a revealed prediction
        is theirs to copy. Why at once and not on the usual schedule: this is what a stopping (or restarting)
        detector does, so that no entry is left hidden while nobody runs who could reveal it.
        """
        report = report or StepReport()
        for p in sorted(self.pending.values(), key=lambda x: x.eval_id):
            if now >= p.t0:
                self._reveal(p, report)
        self.save()
        return report

    def shutdown(self, now: int | None) -> ShutdownReport:
        """Before stopping: resolve what is due, reveal every prediction that can be revealed, and report the rest.

        `now` is chain time (None: the node could not be asked; nothing can be revealed then, and the report
        says what that costs). Never raises: it runs on the way out, also after a failure."""
        out = ShutdownReport()
        if now is not None:
            try:
                step = self.settle_due(now)
                out.revealed += step.revealed
                out.lost += step.lost
            except Exception as exc:  # noqa: BLE001 - the node may be gone; what is left is reported below
                out.failed.append(f"{type(exc).__name__}: {exc}")
        for p in sorted(self.pending.values(), key=lambda x: x.eval_id):
            if now is None or now < p.t0:
                out.hidden.append(p)
                continue
            try:
                self.log.reveal(p)
            except Exception as exc:  # noqa: BLE001 - the node may be gone; the salt stays in the file
                if isinstance(exc, ContractRevert) and self._settled_elsewhere(p.eval_id):
                    del self.pending[p.eval_id]  # expired already: the salt can no longer change anything
                    out.lost.append(p.eval_id)
                    continue
                out.hidden.append(p)
                out.failed.append(f"#{p.eval_id}: {type(exc).__name__}: {exc}")
                continue
            del self.pending[p.eval_id]
            self.open[p.eval_id] = p
            out.revealed.append(p.eval_id)
        if now is None:
            out.failed.append("the node did not answer")
        out.awaiting = sorted(self.open.values(), key=lambda x: x.eval_id)
        self.save()
        return out

    def _settled_elsewhere(self, eval_id: int) -> bool:
        """The entry was resolved by somebody else (a keeper) while still hidden: it expired, nothing to reveal."""
        try:
            return self.log.get(eval_id).settled
        except Exception:  # noqa: BLE001 - cannot tell: treat it as still owed (the salt is kept)
            return False

    def _resolve_due(self, now: int, report: StepReport) -> None:
        for eval_id, p in sorted(self.open.items()):
            if now < p.t0 + p.horizon:
                continue
            del self.open[eval_id]
            if self.log.get(eval_id).status != Status.REVEALED:
                continue  # somebody else resolved it already
            try:
                self.log.resolve(eval_id)
                report.resolved.append(eval_id)
            except ContractRevert as exc:  # lost a race with another resolver
                report.skipped.append(f"#{eval_id}: resolve refused ({exc})")
