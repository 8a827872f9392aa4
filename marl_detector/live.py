"""The live detector: watch the chain and a social feed, commit predictions before the outcome, settle them.

Why this loop shape: the evaluation protocol only means something if every prediction is fixed before its
window plays out. So, per pool and every `commit_every_s` seconds of chain time, the detector builds the same
`EpisodeObservation` the simulator gives the trainer — market data rebuilt from chain logs
(`onchain.reader`), posts from the feed (`onchain.posts`), nothing at or after the commit time — asks the
detector, and commits the hidden prediction to `EvaluationLog`. It reveals after `reveal_delay` (always
before the horizon ends, so nothing expires by accident) and resolves its entries once `t0 + H` has passed.
Each `step()` is one pass, so tests drive it against warped chain time; `run()` repeats it.

The detector is the trained one (`marl_detector.detector.load_detector(path).predict(obs)`) when a path is
given and that module exists, else `RuleDetector`, a transparent hype-plus-buying rule.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from chain.client import ChainClient
from chain.errors import ConfigError, SymphonyError
from chain.reverts import ContractRevert
from marl_detector.observation import EpisodeObservation, SocialObservation
from marl_detector.onchain.deployment import Market
from marl_detector.onchain.evaluation import EvaluationLogClient, PendingPrediction, Status, commitment, model_hash_of
from marl_detector.onchain.posts import PostFeed
from marl_detector.onchain.reader import MarketReader
from marl_detector.onchain.settings import LiveDetectorSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Prediction:
    """label 1 = manipulation; confidence = P(manipulation) in basis points (logged for AUC, not scored)."""

    label: int
    confidence_bp: int


class Detector(Protocol):
    model_hash: bytes

    def predict(self, obs: EpisodeObservation) -> Prediction: ...


@dataclass
class RuleDetector:
    """Flags a coordinated hype burst that is already drawing buyers.

    Signals (all from the observation): posts in the last `burst_s` seconds, the share of them written by
    accounts younger than `young_days`, and the share of quote volume that bought over the same stretch.
    Manipulation = a burst of at least `min_posts`, mostly from young accounts, with buy pressure above
    `min_buy_pressure`. Confidence grows with each signal (a score, not a calibrated probability).
    """

    burst_s: int = 1_800
    min_posts: int = 5
    young_days: float = 30.0
    min_young_share: float = 0.5
    min_buy_pressure: float = 0.55

    @property
    def model_hash(self) -> bytes:
        return model_hash_of("RuleDetector:" + json.dumps(asdict(self), sort_keys=True))

    def predict(self, obs: EpisodeObservation) -> Prediction:
        recent = [p for p in obs.social.posts if p.timestamp >= obs.t0 - self.burst_s]
        young = sum(1 for p in recent if obs.social.accounts[p.author].age_days < self.young_days)
        young_share = young / len(recent) if recent else 0.0
        market = obs.market
        window = [s for s in market.swaps if s.timestamp >= obs.t0 - self.burst_s]
        volume = sum(s.amount_q for s in window)
        buy_pressure = sum(s.amount_q for s in window if s.is_buy) / volume if volume else 0.5
        flagged = len(recent) >= self.min_posts and young_share >= self.min_young_share and buy_pressure >= self.min_buy_pressure
        strength = min(1.0, len(recent) / (2 * self.min_posts)) * young_share * min(1.0, buy_pressure / self.min_buy_pressure)
        confidence = 0.5 + 0.5 * strength if flagged else 0.5 * strength
        return Prediction(int(flagged), int(round(confidence * 10_000)))


@dataclass
class TrainedDetector:
    """Adapter over the trainer's `load_detector(path)` whose `predict` may return a probability, a label,
    a (label, confidence) pair or an object with `label`/`probability`/`confidence` attributes."""

    inner: Any
    model_hash: bytes

    def predict(self, obs: EpisodeObservation) -> Prediction:
        return as_prediction(self.inner.predict(obs))


def as_prediction(raw: Any) -> Prediction:
    if isinstance(raw, Prediction):
        return raw
    if isinstance(raw, tuple) and len(raw) == 2:
        label, conf = raw
        conf = float(conf)
        return Prediction(int(label), int(round(conf * 10_000)) if conf <= 1.0 else int(conf))
    prob = getattr(raw, "probability", None)
    if prob is not None:
        label = getattr(raw, "label", None)
        return Prediction(int(label) if label is not None else int(float(prob) >= 0.5), int(round(float(prob) * 10_000)))
    if hasattr(raw, "label"):
        conf = getattr(raw, "confidence", 0.5)
        return as_prediction((raw.label, conf))
    if isinstance(raw, (float, int)) and 0.0 <= float(raw) <= 1.0:
        return Prediction(int(float(raw) >= 0.5), int(round(float(raw) * 10_000)))
    raise SymphonyError(f"cannot read a prediction from the detector's output {raw!r}")


def _file_hash(path: Path) -> bytes:
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        digest.update(f.name.encode() + b"\0" + f.read_bytes())
    return model_hash_of(digest.digest())


def load_live_detector(path: Path | None) -> Detector:
    """The trained detector at `path` (needs `marl_detector.detector`), or the rule-based one if `path` is None."""
    if path is None:
        return RuleDetector()
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"no detector at {path}")
    try:
        from marl_detector.detector import load_detector  # type: ignore[import-not-found]
    except ImportError:
        raise ConfigError("marl_detector.detector is not available in this checkout; run without --detector to use the rule-based detector") from None
    inner = load_detector(path)
    # The trainer's own model hash (sha256 of the weights) when it offers one, so the chain and the
    # training report name the same artifact; else a hash of the files.
    model_hash = getattr(inner, "model_hash", None)
    return TrainedDetector(inner, bytes(model_hash) if model_hash else _file_hash(path))


@dataclass
class StepReport:
    committed: list[int] = field(default_factory=list)
    revealed: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


class LiveDetector:
    """One detector account watching every pool of a market."""

    def __init__(self, client: ChainClient, market: Market, detector: Detector, settings: LiveDetectorSettings,
                 feed: PostFeed | None = None) -> None:
        self.client = client
        self.market = market
        self.detector = detector
        self.settings = settings
        self.feed = feed if feed is not None else (PostFeed(settings.posts_path) if settings.posts_path else None)
        self.reader = MarketReader(client.w3, market, consumer=f"live-{client.address}")
        self.log = EvaluationLogClient(client, market.log)
        self.pending: dict[int, PendingPrediction] = {}  # committed, not yet revealed
        self.open: dict[int, PendingPrediction] = {}  # revealed, not yet resolved
        self.next_due: dict[str, int] = {}
        self.predictions: dict[int, Prediction] = {}
        self.observed_at: dict[int, int] = {}  # eval id -> t0 the observation was cut at
        self._load_state()

    # -- state across restarts -------------------------------------------------------------------------
    def _load_state(self) -> None:
        path = self.settings.state_path
        if path is None or not Path(path).exists():
            return
        data = json.loads(Path(path).read_text())
        dropped = 0
        for key, target in (("pending", self.pending), ("open", self.open)):
            for d in data.get(key, []):
                p = PendingPrediction(**{**d, "model_hash": bytes.fromhex(d["model_hash"]), "salt": bytes.fromhex(d["salt"])})
                if self._still_ours(p):
                    target[p.eval_id] = p
                else:
                    dropped += 1
        if dropped:
            # A state file from another chain or deployment (e.g. a restarted anvil at the same addresses).
            log.warning("ignored %d saved predictions that this chain's EvaluationLog does not hold", dropped)
        else:
            self.next_due = {k: int(v) for k, v in data.get("next_due", {}).items()}

    def _still_ours(self, p: PendingPrediction) -> bool:
        """The saved prediction opens the commitment stored under its id, by this detector."""
        try:
            e = self.log.get(p.eval_id)
        except ContractRevert:
            return False
        c = commitment(p.pool, p.horizon, p.label, p.confidence, p.model_hash, p.salt)
        return e.detector == self.client.address and e.commitment == "0x" + c.hex() and not e.settled

    def _save_state(self) -> None:
        path = self.settings.state_path
        if path is None:
            return

        def enc(p: PendingPrediction) -> dict:
            return {**asdict(p), "model_hash": p.model_hash.hex(), "salt": p.salt.hex()}

        data = {"pending": [enc(p) for p in self.pending.values()], "open": [enc(p) for p in self.open.values()],
                "next_due": self.next_due}
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(path).with_suffix(".tmp")
        tmp.write_text(json.dumps(data))  # the salts are secrets until revealed: keep this file private
        tmp.chmod(0o600)
        tmp.replace(path)

    # -- one pass --------------------------------------------------------------------------------------
    def observation(self, ticker: str, t0: int) -> EpisodeObservation:
        """What the detector may see when committing at `t0` (data strictly before `t0`)."""
        s = self.settings
        market = self.reader.history(ticker).observation(t0, s.lookback_s)
        social = self.feed.social(ticker, t0 - s.lookback_s, t0) if self.feed else SocialObservation()
        obs = EpisodeObservation(f"{ticker}@{t0}", ticker, t0, s.horizon_s, market, social)
        obs.validate()
        return obs

    def step(self) -> StepReport:
        report = StepReport()
        self.reader.poll()
        if self.feed is not None:
            self.feed.poll()
        now = int(self.client.w3.eth.get_block("latest")["timestamp"])
        self._commit_due(now, report)
        self._reveal_due(now, report)
        self._resolve_due(now, report)
        self._save_state()
        return report

    def _commit_due(self, now: int, report: StepReport) -> None:
        s = self.settings
        for ticker, entry in sorted(self.market.pools.items()):
            if now < self.next_due.get(ticker, 0):
                continue
            history = self.reader.history(ticker)
            if history.created_at is None or now <= history.created_at:
                report.skipped.append(f"{ticker}: no price history yet")
                continue
            # Everything mined so far (timestamps <= now) is visible; the commit lands in a later block whose
            # timestamp is >= now, so the observation covers [.., now] and never anything after the commit.
            t0 = now + 1
            prediction = self.detector.predict(self.observation(ticker, t0))
            try:
                p = self.log.commit(entry.pool.address, s.horizon_s, prediction.label, prediction.confidence_bp,
                                    self.detector.model_hash)
            except ContractRevert as exc:
                report.skipped.append(f"{ticker}: commit refused ({exc})")
                continue
            self.pending[p.eval_id] = p
            self.predictions[p.eval_id] = prediction
            self.observed_at[p.eval_id] = t0  # the data cut-off; the contract's t0 (the commit block) is >= this
            self.next_due[ticker] = p.t0 + s.commit_every_s
            report.committed.append(p.eval_id)
            log.info("committed #%d on %s (t0=%d)", p.eval_id, ticker, p.t0)

    def _reveal_due(self, now: int, report: StepReport) -> None:
        for eval_id, p in sorted(self.pending.items()):
            if now < p.t0 + self.settings.reveal_delay and now < p.t0 + p.horizon - 1:
                continue
            del self.pending[eval_id]
            try:
                self.log.reveal(p)
            except ContractRevert as exc:  # e.g. a keeper resolved it first (it expired): nothing left to do
                report.skipped.append(f"#{eval_id}: reveal refused ({exc})")
                continue
            self.open[eval_id] = p
            report.revealed.append(eval_id)

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
        if self.settings.resolve_others:
            for e in self.log.all():
                if not e.settled and now >= e.t0 + e.horizon and e.id not in self.pending:
                    try:
                        self.log.resolve(e.id)
                        report.resolved.append(e.id)
                    except ContractRevert as exc:
                        report.skipped.append(f"#{e.id}: resolve refused ({exc})")

    def run(self, stop: threading.Event, max_steps: int | None = None) -> None:
        """Repeat `step()` every poll interval until `stop` is set (or `max_steps` passes)."""
        n = 0
        while not stop.is_set() and (max_steps is None or n < max_steps):
            report = self.step()
            for kind in ("committed", "revealed", "resolved"):
                for eval_id in getattr(report, kind):
                    print(f"{kind:<9} evaluation #{eval_id}", flush=True)
            n += 1
            stop.wait(self.settings.poll_interval_s)
