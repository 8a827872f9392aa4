"""A Hide-and-Shill detector doing a Symphony job: answer a detection request, and stand by the answer on chain.

What a detector agent does with a beacon it won:
1. rebuild the observation the request allows — pool history from chain logs, posts from the feed, nothing at
   or after the request's `t0` (`marl_detector.live.observe`, the same view the live detector and the trainer use);
2. ask its detector for a label and a confidence;
3. commit that prediction under its own address to the request's `EvaluationLog` window (opened by the requester;
   the detector checks it names the request's pool, start and horizon, and commits before its start), so that
   when the outcome is known the contract scores it and records evidence and reputation on the CapabilityLedger
   — what weights its bids, hence its votes, the next time;
4. answer `manipulation` or `organic`, which the worker commits and reveals in the task's weighted vote.

Why the individual commitment on top of the vote: the vote settles one verdict, but only a per-detector record
makes each agent accountable; without it a detector that is always wrong would keep its full weight.
A request this agent cannot answer honestly (unknown pool, no price history before `t0`) gets an abstention.
"""

from __future__ import annotations

import logging
import threading
import time

from web3 import Web3

from agents.payloads import PayloadError, ResultPayload
from chain.client import ChainClient
from core.errors import ConfigError
from chain.reverts import ContractRevert
from marl_detector.committee.request import DetectionRequest, answer_of
from marl_detector.live import Detector, observe
from marl_detector.onchain.book import PredictionBook, StepReport
from marl_detector.onchain.deployment import Market, discover_pools
from marl_detector.onchain.posts import PostFeed
from marl_detector.onchain.reader import MarketReader

log = logging.getLogger("symphony.detector_agent")


class DetectionExecutor:
    """The `agents.executor.Executor` of a detector agent (one market, one detector, one account)."""

    def __init__(self, client: ChainClient, market: Market, detector: Detector, book: PredictionBook,
                 feed: PostFeed | None = None) -> None:
        self.client = client
        self.market = market
        self.detector = detector
        self.book = book
        self.feed = feed
        self._readers: dict[str, MarketReader] = {}  # pool address -> a reader following that pool only
        self._lock = threading.Lock()  # the worker's executor threads and the keeper share reader, feed and book

    @property
    def model_id(self) -> str:
        """What the agent registers as its model: the detector's model hash (the same one its log entries carry)."""
        return "hideshill-detector:0x" + self.detector.model_hash.hex()

    def accepts(self, payload: bytes) -> bool:
        try:
            request = DetectionRequest.decode(payload)
        except PayloadError:
            return False
        return request.evaluation_log == Web3.to_checksum_address(self.market.log.address)

    def run(self, payload: bytes) -> ResultPayload:
        start = time.perf_counter()
        try:
            request = DetectionRequest.decode(payload)
        except PayloadError as exc:
            return ResultPayload(output=f"malformed detection request: {exc}", abstained=True)
        with self._lock:
            return self._detect(request, start)

    def _detect(self, request: DetectionRequest, start: float) -> ResultPayload:
        def abstain(why: str) -> ResultPayload:
            return ResultPayload(output=why, abstained=True, seconds=time.perf_counter() - start)

        reader = self._reader(request.pool)
        if reader is None:
            return abstain(f"pool {request.pool} is not a pool of the market this detector watches")
        (ticker,) = reader.market.pools
        reader.poll()
        if self.feed is not None:
            self.feed.poll()
            rejected = self.feed.take_rejected_line()
            if rejected:
                log.warning("%s", rejected)
        history = reader.history(ticker)
        # The commit lands in a later block than everything mined so far: data strictly before `cut` only.
        cut = min(request.t0, int(self.client.w3.eth.get_block("latest")["timestamp"]) + 1)
        if history.created_at is None or cut <= history.created_at:
            return abstain(f"{ticker} has no price history before t0={request.t0}")
        try:
            window = self.book.log.window(request.window_id)
        except ContractRevert:
            return abstain(f"the request names window #{request.window_id}, which the log does not hold")
        if (window.pool, window.t0, window.horizon) != (request.pool, request.t0, request.horizon):
            return abstain(f"window #{request.window_id} is about {window.pool} from {window.t0} over {window.horizon} s, "
                           f"not what the request says")
        try:
            prediction = self.detector.predict(observe(reader, self.feed, ticker, cut, request.horizon, request.lookback))
        except Exception as exc:  # a detector that fails says so (an abstention) instead of stalling the vote
            log.exception("%s: the detector failed", ticker)
            return abstain(f"the detector failed on {ticker}: {type(exc).__name__}: {exc}")
        extra: dict = {"confidence_bp": prediction.confidence_bp, "model_hash": "0x" + self.detector.model_hash.hex(),
                       "ticker": ticker, "observed_until": cut, "window_id": request.window_id}
        try:
            p = self.book.commit(request.window_id, prediction.label, prediction.confidence_bp, self.detector.model_hash)
            extra["evaluation_id"] = p.eval_id
        except ContractRevert as exc:  # the vote still gets the answer; the missing record is stated, not hidden
            log.warning("%s: evaluation commit refused: %s", ticker, exc)
            extra["evaluation_error"] = str(exc)
        answer = answer_of(prediction.label)
        output = (f"{ticker}: {answer} (P(manipulation) = {prediction.confidence_bp / 100:.1f}%) from data before {cut}"
                  + (f"; committed as evaluation #{extra['evaluation_id']}" if "evaluation_id" in extra else ""))
        return ResultPayload(output=output, answer=answer, extra=extra, seconds=time.perf_counter() - start)

    def _reader(self, pool: str) -> MarketReader | None:
        """The reader of one pool, made on its first request (pools launched since the start are discovered).

        Why one reader per pool: each follows only its own pool's and token's logs, so a request about one pool
        never waits on the history of all the others.
        """
        pool = Web3.to_checksum_address(pool)
        if pool not in self._readers:
            try:
                entry = self.market.pool_by_address(pool)
            except ConfigError:
                discover_pools(self.client, self.market)
                try:
                    entry = self.market.pool_by_address(pool)
                except ConfigError:
                    return None
            view = Market(self.market.quote, self.market.factory, self.market.log, {entry.ticker: entry}, self.market.deploy_block)
            self._readers[pool] = MarketReader(self.client.w3, view, consumer=f"committee-{self.client.address}-{pool}")
        return self._readers[pool]

    def settle_due(self) -> StepReport:
        """Reveal and resolve this agent's own log entries that are due (called by the agent's keeper thread)."""
        with self._lock:
            now = int(self.client.w3.eth.get_block("latest")["timestamp"])
            return self.book.settle_due(now)
