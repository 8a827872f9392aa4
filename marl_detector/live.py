"""The live detector: watch the chain and a social feed, commit predictions before the outcome, settle them.

Why this loop shape: the evaluation protocol only means something if every prediction is fixed before its
window plays out, about a window the detector did not choose. So on every pass the detector looks for windows
requesters opened on its market (`WindowOpened`, still before their `t0`, not yet answered), builds the same
`EpisodeObservation` the simulator gives the trainer — market data rebuilt from chain logs (`onchain.reader`),
posts from the feed (`onchain.posts`), nothing at or after the commit block — asks the detector, and commits
the hidden prediction. With `open_windows` it first opens windows itself, one per pool every `commit_every_s`
(its entries there are the opener's: on the public record, never on the ledger). It reveals after
`reveal_delay` (always before the horizon ends, so nothing expires by accident) and resolves its entries once
`t0 + H` has passed. Each `step()` is one pass, so tests drive it against warped chain time; `run()` repeats it.

The detector is the trained one (`marl_detector.detector.load_detector(path).predict(obs)`) when a path is
given, else `RuleDetector`, a transparent hype-plus-buying rule.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Protocol

from chain.client import ChainClient
from core.errors import ConfigError, SymphonyError
from chain.reverts import ContractRevert
from marl_detector.observation import EpisodeObservation, SocialObservation
from marl_detector.onchain.deployment import Market
from marl_detector.onchain.book import PredictionBook, ShutdownReport, StepReport
from marl_detector.onchain.evaluation import EvaluationLogClient, PendingPrediction, model_hash_of
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
        pressure = min(1.0, buy_pressure / self.min_buy_pressure) if self.min_buy_pressure > 0 else 1.0
        strength = min(1.0, len(recent) / (2 * self.min_posts)) * young_share * pressure
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


RULE = "rule"  # the name that selects the rule baseline where a detector path is expected


def load_live_detector(path: Path | str | None) -> Detector:
    """The trained detector at `path`, or the rule-based baseline if `path` is None or `rule`."""
    if path is None or str(path) == RULE:
        return RuleDetector()
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"no detector at {path}")
    from marl_detector.detector import load_detector

    inner = load_detector(path)
    # The trainer's own model hash (sha256 of the weights) when it offers one, so the chain and the
    # training report name the same artifact; else a hash of the files.
    model_hash = getattr(inner, "model_hash", None)
    return TrainedDetector(inner, bytes(model_hash) if model_hash else _file_hash(path))


def observe(reader: MarketReader, feed: PostFeed | None, ticker: str, t0: int, horizon: int, lookback: int) -> EpisodeObservation:
    """The observation a detector may use for a verdict at `t0`: chain history and posts strictly before `t0`,
    `lookback` seconds of it — the same `EpisodeObservation` the simulator gives the trainer."""
    market = reader.history(ticker).observation(t0, lookback)
    social = feed.social(ticker, t0 - lookback, t0) if feed else SocialObservation()
    obs = EpisodeObservation(f"{ticker}@{t0}", ticker, t0, horizon, market, social)
    obs.validate()
    return obs


class LiveDetector:
    """One detector account watching every pool of a market."""

    def __init__(self, client: ChainClient, market: Market, detector: Detector, settings: LiveDetectorSettings,
                 feed: PostFeed | None = None) -> None:
        self.client = client
        self.market = market
        self.detector = detector
        self.settings = settings
        self.feed = feed if feed is not None else (PostFeed(settings.posts_path) if settings.posts_path else None)
        # Pools launched after the start are followed too (the factory's PoolCreated events in the same stream).
        self.reader = MarketReader(client.w3, market, consumer=f"live-{client.address}", follow_factory=True)
        self.log = EvaluationLogClient(client, market.log)
        self.book = PredictionBook(self.log, settings.state_path, settings.reveal_delay)
        self.next_due: dict[str, int] = {k: int(v) for k, v in self.book.extra.get("next_due", {}).items()}
        self.book.extra["next_due"] = self.next_due  # saved with the salts
        self.window_cursor = int(self.book.extra.get("window_cursor", 0))  # windows before it are all closed
        self.answered: set[int] = set()
        self.predictions: dict[int, Prediction] = {}
        self.observed_at: dict[int, int] = {}  # eval id -> the data cut-off of its observation (commit block)
        self._restarted = self.book.restored == 0  # nothing restored: no catch-up reveal to make
        self._waiting_for_history: set[str] = set()  # pools already reported as having no price history yet

    @property
    def restored(self) -> int:
        """Predictions read back from the state file at start (a restart)."""
        return self.book.restored

    @property
    def pending(self) -> dict[int, PendingPrediction]:
        """Committed, not yet revealed."""
        return self.book.pending

    @property
    def open(self) -> dict[int, PendingPrediction]:
        """Revealed, not yet resolved."""
        return self.book.open

    # -- one pass --------------------------------------------------------------------------------------
    def observation(self, ticker: str, t0: int, horizon: int | None = None) -> EpisodeObservation:
        """What the detector may see when its commit lands at `t0` (data strictly before `t0`)."""
        return observe(self.reader, self.feed, ticker, t0, horizon or self.settings.horizon_s, self.settings.lookback_s)

    def watched(self) -> list[str]:
        """The pools this detector follows, as `TICKER 0xaddress`."""
        return [f"{t} {self.market.pools[t].pool.address}" for t in sorted(self.market.pools)
                if self.market.pools[t].pool.address in self.reader.histories]

    def step(self) -> StepReport:
        report = StepReport()
        self.reader.poll()
        report.discovered = [f"{e.ticker} {e.pool.address}" for e in self.reader.take_discovered()]
        if self.feed is not None:
            self.feed.poll()
            report.feed_rejected = self.feed.take_rejected_line()
        now = int(self.client.w3.eth.get_block("latest")["timestamp"])
        if not self._restarted:
            # Predictions restored from the state file are revealed at once where their windows are closed: the
            # process that committed them is gone, and this one may be stopped again before their schedule.
            self._restarted = True
            self.book.reveal_closed(now, report)
        if self.settings.open_windows:
            self._open_due(now, report)
        if self.settings.answer_windows or self.settings.open_windows:
            self._commit_open_windows(report)
        self.book.settle_due(now, report)
        if self.settings.resolve_others:
            self._resolve_others(now, report)
        return report

    def _open_due(self, now: int, report: StepReport) -> None:
        """Act as a requester: open one window per pool every `commit_every_s` (its entry is the opener's)."""
        s = self.settings
        for ticker, entry in sorted(self.market.pools.items()):
            if now < self.next_due.get(ticker, 0):
                continue
            history = self.reader.history(ticker)
            if history.created_at is None or now <= history.created_at:
                if ticker not in self._waiting_for_history:  # said once per pool, not on every pass
                    self._waiting_for_history.add(ticker)
                    report.skipped.append(f"{ticker}: no price history yet (no window until its first liquidity)")
                continue
            self._waiting_for_history.discard(ticker)
            try:
                w = self.log.open_window(entry.pool.address, s.horizon_s, lead=s.lead_s)
            except ContractRevert as exc:
                report.skipped.append(f"{ticker}: window refused ({exc})")
                continue
            self.next_due[ticker] = w.t0 + s.commit_every_s
            log.info("opened window #%d on %s (t0=%d)", w.id, ticker, w.t0)

    def _commit_open_windows(self, report: StepReport) -> None:
        """Commit one prediction to every window of this market still before its t0 that we have not answered."""
        windows = self.log.windows(self.window_cursor)
        now = int(self.client.w3.eth.get_block("latest")["timestamp"])
        pools = {p.pool.address: t for t, p in self.market.pools.items()}
        mine = self.client.address
        closed_prefix = True
        for w in windows:
            ticker = pools.get(w.pool)
            still_open = w.t0 > now  # else the contract refuses (WindowClosed) and the window is skipped
            if closed_prefix and not still_open:
                self.window_cursor = w.id + 1
            else:
                closed_prefix = False
            if ticker is None or not still_open or w.id in self.answered:
                continue
            if not self.settings.answer_windows and w.opener != mine:
                continue
            if self.log.entry_of(w.id, mine) is not None:
                self.answered.add(w.id)
                continue
            # Everything mined so far (timestamps <= now) is visible; the commit lands in a later block, so the
            # observation covers [.., now] and never anything at or after the commit.
            cut = now + 1
            prediction = self.detector.predict(self.observation(ticker, cut, w.horizon))
            try:
                p = self.book.commit(w.id, prediction.label, prediction.confidence_bp, self.detector.model_hash)
            except ContractRevert as exc:
                report.skipped.append(f"{ticker}: commit to window #{w.id} refused ({exc})")
                self.answered.add(w.id)
                continue
            self.answered.add(w.id)
            self.predictions[p.eval_id] = prediction
            self.observed_at[p.eval_id] = cut
            report.committed.append(p.eval_id)
            log.info("committed #%d to window #%d on %s (t0=%d)", p.eval_id, w.id, ticker, w.t0)
        self.book.extra["window_cursor"] = self.window_cursor

    def _resolve_others(self, now: int, report: StepReport) -> None:
        """Act as a keeper: resolve every due entry of the log (anyone may; it settles other detectors' records)."""
        for e in self.log.all():
            if not e.settled and now >= e.t0 + e.horizon and e.id not in self.pending:
                try:
                    self.log.resolve(e.id)
                    report.resolved.append(e.id)
                except ContractRevert as exc:
                    report.skipped.append(f"#{e.id}: resolve refused ({exc})")

    def shutdown(self) -> ShutdownReport:
        """Stop cleanly: resolve what is due, reveal every hidden prediction whose window is closed to commits,
        and say what the others (windows not started yet, or a reveal the node refused) will cost."""
        try:
            now: int | None = int(self.client.w3.eth.get_block("latest")["timestamp"])
        except Exception:  # noqa: BLE001 - the node is gone: the report says what that costs
            now = None
        return self.book.shutdown(now)

    def run(self, stop: "Waiter", max_steps: int | None = None, on_report: Callable[[StepReport], None] | None = None) -> None:
        """Repeat `step()` every poll interval until `stop.wait(...)` says a stop was asked for (a
        `core.shutdown.StopSignal` in the CLI) or `max_steps` passes were made."""
        n = 0
        while max_steps is None or n < max_steps:
            report = self.step()
            if on_report is not None:
                on_report(report)
            n += 1
            if (max_steps is None or n < max_steps) and stop.wait(self.settings.poll_interval_s):
                break


class Waiter(Protocol):
    def wait(self, timeout: float | None = None) -> bool:
        """Sleep up to `timeout` seconds; True as soon as a stop is requested."""
