"""A detector agent: a Symphony worker whose executor is a Hide-and-Shill detector, plus a keeper.

The worker part is the ordinary `AgentWorker` (register on the CapabilityLedger, heartbeat, bid on beacons it
can take, submit, commit and reveal its vote); only the executor differs. The keeper is what a detector owes
beyond the vote: its own EvaluationLog entries must be revealed before their horizon ends and resolved after,
or they score as expired (the worst score) and cost it reputation.
"""

from __future__ import annotations

import logging
import threading

from agents.profile import AgentProfile
from agents.worker import AgentWorker, deployment_key
from chain.bindings import SymphonyContracts
from marl_detector.committee.executor import DetectionExecutor
from marl_detector.live import Detector
from marl_detector.onchain.book import PredictionBook
from marl_detector.onchain.deployment import Market
from marl_detector.onchain.evaluation import EvaluationLogClient
from marl_detector.onchain.posts import PostFeed

log = logging.getLogger("symphony.detector_agent")

DETECTOR_TAG = "hideshill-detector"  # how requesters find detector agents on the ledger


class DetectorAgent:
    def __init__(self, worker: AgentWorker, executor: DetectionExecutor, keeper_interval_s: float = 1.0) -> None:
        self.worker = worker
        self.executor = executor
        self.keeper_interval_s = keeper_interval_s
        self._stop = threading.Event()
        self._keeper: threading.Thread | None = None

    @property
    def address(self) -> str:
        return self.worker.address

    def start(self) -> "DetectorAgent":
        self.worker.start()
        self._keeper = threading.Thread(target=self._keep, name=f"keeper-{self.worker.profile.name}", daemon=True)
        self._keeper.start()
        return self

    def stop(self, *, announce: bool = True) -> None:
        self._stop.set()
        if self._keeper is not None:
            self._keeper.join(timeout=5)
        self.worker.stop(announce=announce)

    def _keep(self) -> None:
        while not self._stop.wait(self.keeper_interval_s):
            try:
                report = self.executor.settle_due()
                for eval_id in report.revealed:
                    log.info("%s revealed evaluation #%d", self.worker.profile.name, eval_id)
                for eval_id in report.resolved:
                    log.info("%s resolved evaluation #%d", self.worker.profile.name, eval_id)
            except Exception as exc:  # a flaky RPC must not kill the keeper; the next pass retries
                log.warning("%s: keeper pass failed: %s", self.worker.profile.name, exc)


def build_detector_agent(profile: AgentProfile, contracts: SymphonyContracts, market: Market, detector: Detector, *,
                         feed: PostFeed | None = None, reveal_after_s: int | None = None,
                         keeper_interval_s: float = 1.0) -> DetectorAgent:
    """Wire a detector into a worker: its capability vector from the profile, its model id from the detector."""
    from agents.capability import encode_vector

    if DETECTOR_TAG not in profile.tags:
        profile = profile.model_copy(update={"tags": [*profile.tags, DETECTOR_TAG]})
    client = contracts.client
    state = profile.state_dir / f"{profile.name}-{client.address.lower()}-{deployment_key(contracts)}.predictions.json"
    book = PredictionBook(EvaluationLogClient(client, market.log), state, reveal_after_s)
    executor = DetectionExecutor(client, market, detector, book, feed)
    worker = AgentWorker(profile, contracts, executor, encode_vector(profile.capability), model_id=executor.model_id)
    return DetectorAgent(worker, executor, keeper_interval_s)
