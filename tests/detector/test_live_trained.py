"""The live detector with a trained detector artifact (`marl_detector.detector`): a tiny randomly initialised
network saved with `save_detector`, loaded through `load_live_detector`, committing on chain under the
artifact's sha256 as model hash, with the confidence the network actually produced. The detector opens its own
windows here (`open_windows`): its entries are the opener's, so no ledger registration is needed."""

from __future__ import annotations

import torch

from chain.client import ChainClient
from marl_detector.detector import save_detector
from marl_detector.features import FEATURE_NAMES
from marl_detector.live import LiveDetector, load_live_detector
from marl_detector.model import DetectorNet
from marl_detector.onchain.accounts import chain_time, mine_at
from marl_detector.onchain.deployment import WAD, deploy_market
from marl_detector.onchain.evaluation import Status
from marl_detector.onchain.market import OnchainMarket, Trade
from marl_detector.onchain.posts import append_posts
from marl_detector.onchain.settings import LiveDetectorSettings


def test_trained_detector_commits_under_its_weights_hash(anvil, tmp_path):
    torch.set_num_threads(1)
    torch.manual_seed(0)
    digest = save_detector(DetectorNet(len(FEATURE_NAMES), (8,)), tmp_path / "model")
    snapshot = anvil.snapshot()
    try:
        operator = ChainClient(anvil.rpc_url, anvil.dev_accounts[0].key.to_0x_hex())
        market, _ = deploy_market(operator, ["AAA"], min_horizon=400)
        start = chain_time(operator.w3)
        book = OnchainMarket(operator, market.pools["AAA"], market.quote, seed=4)
        for k in range(1, 6):
            book.execute(Trade(start + 100 * k, f"t{k % 2}", k % 2 == 1, WAD // 10 if k % 2 else 10**20))
        feed = tmp_path / "posts.jsonl"
        append_posts(feed, [{"timestamp": start + 50 * k, "ticker": "AAA", "author": f"a{k}", "text": "AAA looks strong",
                             "age_days": 10.0 * k, "followers": 5, "following": 9} for k in range(1, 8)])
        detector = load_live_detector(tmp_path / "model")
        assert detector.model_hash == bytes.fromhex(digest)
        live = LiveDetector(ChainClient(anvil.rpc_url, anvil.dev_accounts[2].key.to_0x_hex()), market, detector,
                            LiveDetectorSettings(horizon_s=400, lookback_s=1_000, commit_every_s=10_000, posts_path=feed,
                                                open_windows=True, lead_s=20))
        mine_at(operator.w3, start + 700)
        committed = live.step().committed
        assert len(committed) == 1
        p = live.pending[committed[0]]
        cut = live.observed_at[committed[0]]
        # No look-ahead: the observation holds timestamps < cut, i.e. only blocks mined up to the commit's own second.
        assert cut - 1 <= live.log.get(committed[0]).committed_at < p.t0
        assert live.log.get(committed[0]).opener_entry
        label, prob = detector.inner.predict(live.observation("AAA", cut))
        assert (p.label, p.confidence) == (label, round(prob * 10_000))
        mine_at(operator.w3, p.t0 + 400)
        assert live.step().resolved == committed
        e = live.log.get(committed[0])
        assert e.status == Status.RESOLVED and e.model_hash == "0x" + digest
        assert (e.predicted, e.confidence) == (label, round(prob * 10_000))
    finally:
        anvil.revert(snapshot)
