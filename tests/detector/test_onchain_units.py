"""Units of the on-chain side: commitments, client-side validation, decoded reverts, binding, the post feed,
the verifier's independent price path, settings and the detector-output adapter."""

from __future__ import annotations

import random

import pytest
from pydantic import ValidationError

import chain.reverts as reverts
from chain.client import ChainClient
from chain.deploy import Manifest
from core.errors import ConfigError, SymphonyError
from marl_detector.amm import Pool
from marl_detector.live import Prediction, as_prediction
from marl_detector.onchain.accounts import chain_time, mine_at
from marl_detector.onchain.deployment import WAD, bind_market, deploy_market
from marl_detector.onchain.evaluation import EvaluationLogClient, commitment, model_hash_of
from marl_detector.onchain.market import OnchainMarket, ParityError, Trade
from marl_detector.onchain.posts import PostFeed, append_posts
from marl_detector.onchain.settings import LiveDetectorSettings
from marl_detector.onchain.verify import PricePath
from tests.detector.campaign import dev_client, staked_market


@pytest.fixture(scope="module")
def deployed(anvil, deployment):
    """A two-pool market on the session's ledger, dev account 1 a registered detector, one open window."""
    snapshot = anvil.snapshot()
    operator = ChainClient(anvil.rpc_url, anvil.dev_accounts[0].key.to_0x_hex())
    market, manifest = staked_market(anvil, deployment, ["AAA", "BBB"], detectors=(1,))
    mine_at(operator.w3, chain_time(operator.w3) + 500)
    try:
        yield anvil, operator, market, manifest
    finally:
        anvil.revert(snapshot)


def test_commitment_matches_the_contract(deployed):
    anvil, operator, market, _ = deployed
    detector = dev_client(anvil, 1).address
    mh, salt = model_hash_of("m"), bytes(range(32))
    for window, label, conf in ((0, 1, 9_999), (7, 0, 0)):
        onchain = operator.call(market.log.functions.computeCommitment(window, detector, label, conf, mh, salt))
        assert bytes(onchain) == commitment(window, detector, label, conf, mh, salt)
    assert commitment(0, detector, 1, 1, mh, salt) != commitment(0, detector, 0, 1, mh, salt)
    assert commitment(0, detector, 1, 1, mh, salt) != commitment(0, operator.address, 1, 1, mh, salt), "bound to the detector"


def test_client_refuses_bad_predictions_before_sending(deployed):
    anvil, _, market, _ = deployed
    log = EvaluationLogClient(dev_client(anvil, 1), market.log)
    with pytest.raises(SymphonyError, match="label must be 0 or 1"):
        log.commit(0, 2, 10, model_hash_of("m"))
    with pytest.raises(SymphonyError, match="confidence"):
        log.commit(0, 1, 10_001, model_hash_of("m"))
    assert log.count() == 0


def test_contract_reverts_arrive_as_named_exceptions(deployed):
    anvil, operator, market, _ = deployed
    requester = EvaluationLogClient(operator, market.log)
    with pytest.raises(reverts.revert_class("UnknownPool")):
        requester.open_window(market.quote.address, 400)
    with pytest.raises(reverts.revert_class("InvalidHorizon")) as err:
        requester.open_window(market.pools["AAA"].pool.address, 402)
    assert err.value.args_dict["horizon"] == 402
    with pytest.raises(reverts.revert_class("InvalidHorizon")):
        requester.open_window(market.pools["AAA"].pool.address, 4)  # the v1 "sure true negative"
    snapshot = anvil.snapshot()
    try:
        w = requester.open_window(market.pools["AAA"].pool.address, 400, lead=50)
        stranger = EvaluationLogClient(dev_client(anvil, 7), market.log)
        with pytest.raises(reverts.revert_class("NotRegisteredDetector")):
            stranger.commit(w.id, 1, 10, model_hash_of("m"))
        detector = EvaluationLogClient(dev_client(anvil, 1), market.log)
        detector.commit(w.id, 1, 10, model_hash_of("m"))
        with pytest.raises(reverts.revert_class("AlreadyCommitted")):
            detector.commit(w.id, 0, 10, model_hash_of("m"))
        mine_at(operator.w3, w.t0)
        with pytest.raises(reverts.revert_class("WindowClosed")):
            EvaluationLogClient(operator, market.log).commit(w.id, 1, 10, model_hash_of("m"))
    finally:
        anvil.revert(snapshot)


def test_bind_market_finds_pools_on_chain(deployed):
    _, operator, market, manifest = deployed
    bound = bind_market(ChainClient(operator.rpc_url), manifest)
    assert sorted(bound.pools) == ["AAA", "BBB"]
    assert bound.pools["BBB"].pool.address == market.pools["BBB"].pool.address
    assert bound.log.address == market.log.address
    empty = Manifest(chain_id=manifest.chain_id, rpc_url=manifest.rpc_url, deployer=manifest.deployer, deploy_block=0)
    with pytest.raises(ConfigError, match="deploy the Hide-and-Shill market first"):
        bind_market(operator, empty)


def test_deploy_market_rejects_bad_input(deployed):
    _, operator, _, _ = deployed
    with pytest.raises(ConfigError, match="distinct tickers"):
        deploy_market(operator, ["X", "X"])
    with pytest.raises(ConfigError, match="positive"):
        deploy_market(operator, ["X"], seed_quote=0)
    with pytest.raises(ConfigError, match="min_horizon"):
        deploy_market(operator, ["X"], min_horizon=4)


def _one_pool_book(anvil, mirror_extra_q: int = 0) -> tuple[ChainClient, OnchainMarket, int]:
    """A fresh one-pool market and its book, mirrored by a Python pool (`mirror_extra_q` off in its quote reserve)."""
    operator = ChainClient(anvil.rpc_url, anvil.dev_accounts[0].key.to_0x_hex())
    market, _ = deploy_market(operator, ["AAA"], seed_quote=50 * WAD, seed_price_wad=10**14)
    pool = market.pools["AAA"].pool
    r_q, r_t = pool.functions.reserveQ().call(), pool.functions.reserveT().call()
    created = pool.functions.observation(0).call()[0]
    mirror = Pool.create(r_q + mirror_extra_q, r_t, now=created)
    return operator, OnchainMarket(operator, market.pools["AAA"], market.quote, mirror=mirror), created


def test_lockstep_replay_catches_a_diverging_python_pool(anvil):
    """The parity check is not vacuous: a mirror that starts from different reserves is caught on trade one."""
    snapshot = anvil.snapshot()
    try:
        _, book, created = _one_pool_book(anvil, mirror_extra_q=1)
        with pytest.raises(ParityError, match="Python AMM"):
            book.execute(Trade(created + 10, "alice", True, WAD))
    finally:
        anvil.revert(snapshot)


def test_a_trade_scheduled_before_another_partys_newer_block_goes_in_at_that_blocks_time(anvil):
    """`detect market` shares its chain with live detectors: a detector's block can be a second past the replay's next
    trade, and anvil refuses an earlier timestamp (the two-terminal quick start died on it). The trade goes in at the
    latest block's time, the mirror still agrees, and the replay goes on."""
    snapshot = anvil.snapshot()
    try:
        operator, book, created = _one_pool_book(anvil)
        book.execute(Trade(created + 10, "alice", True, WAD))
        other = chain_time(operator.w3) + 5
        mine_at(operator.w3, other)  # another party's block, past the next trade's time
        done = book.execute(Trade(created + 11, "bob", True, WAD))
        assert operator.w3.eth.get_block(done.block_number)["timestamp"] == other
        later = book.execute(Trade(other + 20, "carol", False, 10**18))
        assert operator.w3.eth.get_block(later.block_number)["timestamp"] == other + 20  # exact again
    finally:
        anvil.revert(snapshot)


def test_post_feed_tails_validates_and_windows(tmp_path):
    path = tmp_path / "posts.jsonl"
    feed = PostFeed(path)
    assert feed.poll() == 0  # no file yet
    append_posts(path, [
        {"timestamp": 100, "ticker": "A", "author": "u1", "text": "hi", "age_days": 2, "follows": ["u2", "zz"]},
        {"timestamp": 150, "ticker": "A", "author": "u2", "text": "yo"},
        {"timestamp": 160, "ticker": "B", "author": "u3", "text": "other"},
    ])
    assert feed.poll() == 3
    with path.open("a") as handle:
        handle.write('{"timestamp": 170, "ticker": "A", "author": "u4", "te')  # partial line, still being written
    assert feed.poll() == 0
    with path.open("a") as handle:
        handle.write('xt": "late"}\n')
    assert feed.poll() == 1
    social = feed.social("A", 100, 170)
    assert [p.author for p in social.posts] == ["u1", "u2"]
    assert social.follows == [("u1", "u2")]
    assert social.accounts["u1"].age_days == 2.0
    # Malformed lines are skipped, each named once with its line number, and the good ones around them kept.
    with path.open("ab") as handle:
        handle.write(b"not json\n")
        handle.write(b'{"timestamp": 180, "ticker": "A", "author": "u5", "text": "fine"}\n')
        handle.write(b'{"timestamp": "soon", "ticker": "A", "author": "u6", "text": "bad time"}\n')
        handle.write(b'{"timestamp": 181, "author": "u7", "text": "no ticker"}\n')
        handle.write(b'\xff\xfe{"timestamp": 182}\n')
        handle.write(b'[1, 2]\n')
        handle.write(b'{"timestamp": 183, "ticker": "A", "author": "u8", "text": "ok", "follows": "u1"}\n')
    assert feed.poll() == 1
    rejected = feed.take_rejected()
    assert [r.split(": ", 1)[0] for r in rejected] == [f"{path}:{n}" for n in (5, 7, 8, 9, 10, 11)]
    assert "not valid JSON" in rejected[0] and "bad field value" in rejected[1] and "lacks ticker" in rejected[2]
    assert all(r.endswith("line skipped") for r in rejected)
    assert feed.take_rejected() == [] and feed.poll() == 0, "each bad line is reported once"
    assert [p.author for p in feed.social("A", 0, 10**6).posts] == ["u1", "u2", "u4", "u5"]
    with pytest.raises(SymphonyError, match="lacks ticker"):
        append_posts(path, [{"timestamp": 1, "author": "x", "text": "t"}])


def test_verifier_price_path_agrees_with_the_python_oracle():
    """Two independent integrations of the same price path (verify.PricePath vs amm.Pool) agree exactly."""
    rng = random.Random(3)
    pool = Pool.create(50 * WAD, 500_000 * WAD, now=1_000)
    path = PricePath()
    path.add(1_000, pool.reserve_q, pool.reserve_t)
    now = 1_000
    for _ in range(300):
        now += rng.choice([0, 0, 1, 7, 60, 300])
        if rng.random() < 0.5:
            pool.swap_q_for_t(rng.randint(10**15, 5 * WAD), now)
        else:
            pool.swap_t_for_q(rng.randint(10**18, 50_000 * WAD), now)
        path.add(now, pool.reserve_q, pool.reserve_t)
    for t in [1_000, 1_001, now - 1, now, now + 500, *(rng.randint(1_000, now) for _ in range(50))]:
        assert path.cumulative(t) == pool.cumulative_at(t), t


def test_settings_validation():
    with pytest.raises(ValidationError, match="multiple of 4"):
        LiveDetectorSettings(horizon_s=1_001)
    with pytest.raises(ValidationError, match="shorter than the horizon"):
        LiveDetectorSettings(horizon_s=400, reveal_after_s=400)
    assert LiveDetectorSettings(horizon_s=400).reveal_delay == 200


def test_prediction_adapter():
    assert as_prediction(0.8) == Prediction(1, 8_000)
    assert as_prediction(0.2) == Prediction(0, 2_000)
    assert as_prediction((1, 0.9)) == Prediction(1, 9_000)
    assert as_prediction((0, 7_500)) == Prediction(0, 7_500)

    class Out:
        probability = 0.3
        label = 1

    assert as_prediction(Out()) == Prediction(1, 3_000)
    with pytest.raises(SymphonyError, match="cannot read a prediction"):
        as_prediction("yes")


def test_replayed_posts_name_the_onchain_ticker_and_keep_their_text_features():
    """The simulator's posts say `$<random ticker>`; replayed about pool E7 they must say `$E7`, so that a detector
    reading them about E7 embeds exactly the text it would have embedded in the simulator."""
    from marl_detector.calibration import calibrate
    from marl_detector.onchain.campaign import episode_posts
    from marl_detector.sim import STYLE_DEFAULTS, EpisodeSpec, simulate_episode
    from marl_detector.social import build_world
    from marl_detector.text import canonical_text

    calib = calibrate()
    world = build_world(2, calib)
    spec = EpisodeSpec("u", "campaign", "moon_emoji", world.clusters_for("train")[0], STYLE_DEFAULTS["moon_emoji"])
    episode = simulate_episode(world, calib, spec, seed=5)
    sim_ticker = episode.observation.ticker
    records = episode_posts(episode, "E7", 1_000)
    original = episode.observation.social.posts
    assert len(records) == len(original) > 0
    assert any(f"${sim_ticker}" in p.text for p in original)
    for post, record in zip(original, records):
        assert f"${sim_ticker}" not in record["text"]
        assert canonical_text(record["text"], "E7") == canonical_text(post.text, sim_ticker)
        assert record["timestamp"] == post.timestamp + 1_000
