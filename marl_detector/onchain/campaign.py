"""Simulated episodes played onto a local chain *with* their social feed: what a live detector would see.

Why: `replay_episode` alone moves prices; a live detector also needs the posts. This module replays an
episode's trades (through `market.replay_episode`) and appends each of its posts to the JSONL feed at the
moment chain time reaches it, with the author's account data and follow edges, all shifted by the same
offset. Only the posts the simulator exposes are available (those before the episode's `t0`), which are
exactly the ones a detector committing at `t0` may use.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from chain.client import ChainClient
from marl_detector.onchain.accounts import TimedSender, chain_time
from marl_detector.onchain.deployment import Market
from marl_detector.onchain.market import OnchainMarket, RecordedEpisode, recording_trades, replay_episode
from marl_detector.onchain.posts import append_posts

if TYPE_CHECKING:
    from marl_detector.settings import MarketSettings
    from marl_detector.sim import EpisodeSpec

WEEK = 7 * 86_400


@dataclass
class PlayedEpisode:
    ticker: str
    episode: object  # marl_detector.sim.SimulatedEpisode
    market: OnchainMarket
    time_offset: int
    t0: int  # shifted commit time of the episode

    @property
    def pool(self) -> str:
        return self.market.pool.pool.address


def episode_posts(episode, ticker: str, time_offset: int) -> list[dict]:
    """The episode's observable posts as feed records (chain time), cashtags renamed to the on-chain ticker.

    Why rename: the simulator draws a random ticker and its posts say `$XYZ`; on chain the pool is `ticker`, and a
    detector reading `$XYZ` about pool `ticker` sees foreign text (its text features treat `$<own ticker>` alone
    as the token's name)."""
    social = episode.observation.social
    sim_ticker = episode.observation.ticker
    follows: dict[str, list[str]] = defaultdict(list)
    for follower, followee in social.follows:
        follows[follower].append(followee)
    out = []
    for p in social.posts:
        acct = social.accounts[p.author]
        text = p.text.replace(f"${sim_ticker}", f"${ticker}") if sim_ticker else p.text
        out.append({"timestamp": p.timestamp + time_offset, "ticker": ticker, "author": p.author, "text": text,
                    "age_days": acct.age_days, "followers": acct.followers, "following": acct.following,
                    "follows": sorted(follows.get(p.author, []))})
    return out


def play_episode(
    operator: ChainClient,
    market: Market,
    ticker: str,
    simulate: Callable[[], object],
    feed: Path,
    *,
    seed: int = 0,
    lead_s: int = 100,
    at_t0: Callable[[int], None] | None = None,
    speedup: float | None = None,
    sender: TimedSender | None = None,
    pause_s: int = 0,
    after_launch: dict[int, Callable[[int], None]] | None = None,
) -> PlayedEpisode:
    """Simulate (via `simulate()`), then replay the episode on a new pool `ticker` starting at least `lead_s`
    seconds after the chain's current time (shifted by whole weeks), appending its posts to `feed` as chain time reaches them.
    `at_t0(t0)` runs when the replay reaches the episode's commit time (e.g. a live detector's `step`); with
    `pause_s`, the market after `t0` is played that many seconds later, so `at_t0` may take chain time.
    `after_launch[d](t)` runs `d` seconds after the pool's launch, with `t` that chain time (e.g. a requester
    opening windows on a schedule that knows nothing of the episode)."""
    with recording_trades() as recorded:
        episode = simulate()
    rec: RecordedEpisode = recorded[-1]
    # A whole number of weeks: the shift then keeps every timestamp's hour of day and weekday, which detectors use
    # as features (real pumps cluster at 17:00 UTC); any other shift would hand them a different episode.
    offset = -(-(chain_time(operator.w3) + lead_s - rec.created_at) // WEEK) * WEEK
    t0_episode = episode.observation.t0  # type: ignore[attr-defined]
    hooks: dict[int, Callable[[], None]] = {}
    by_time: dict[int, list[dict]] = defaultdict(list)
    for post in episode_posts(episode, ticker, offset):
        by_time[post["timestamp"] - offset].append(post)
    for t, posts in by_time.items():
        hooks[t] = (lambda ps=posts: append_posts(feed, ps))
    if at_t0 is not None:
        previous = hooks.get(t0_episode)

        def commit_hook() -> None:
            if previous is not None:
                previous()
            at_t0(t0_episode + offset)

        hooks[t0_episode] = commit_hook
    for delay, hook in sorted((after_launch or {}).items()):
        t = rec.created_at + delay
        previous_hook = hooks.get(t)

        def scheduled(hook: Callable[[int], None] = hook, t: int = t, before: Callable[[], None] | None = previous_hook) -> None:
            if before is not None:
                before()
            hook(t + offset)

        hooks[t] = scheduled
    onchain = replay_episode(operator, market, ticker, rec, time_offset=offset, seed=seed, hooks=hooks,
                             speedup=speedup, sender=sender, pause=(t0_episode, pause_s) if pause_s else None)
    return PlayedEpisode(ticker, episode, onchain, offset, t0_episode + offset)


def market_specs(settings: "MarketSettings", world, start: int = 0) -> list[tuple[EpisodeSpec, int]]:  # noqa: ANN001 - World
    """The episodes `detect market` plays: (spec, simulator seed) for episodes `start .. start + settings.episodes`.

    Kinds are cycled; campaigns cycle through every style (held-out ones included) with its typical behaviour and
    a sybil cluster of the world's test partition. Why a function: the live benchmark plays exactly these.
    """
    from marl_detector.sim import STYLE_DEFAULTS, EpisodeSpec

    styles = sorted(STYLE_DEFAULTS)
    clusters = world.clusters_for("test")
    out = []
    for i in range(start, start + settings.episodes):
        kind = settings.kinds[i % len(settings.kinds)]
        style = styles[i % len(styles)] if kind == "campaign" else ""
        spec = EpisodeSpec(f"live-{i}", kind, style, clusters[i % len(clusters)] if kind == "campaign" else -1,
                           STYLE_DEFAULTS[style] if kind == "campaign" else None)
        out.append((spec, settings.seed * 1000 + i))
    return out


def play_market(operator: ChainClient, market: Market, settings: "MarketSettings",
                on_played: Callable[[PlayedEpisode], None] | None = None,
                should_stop: Callable[[], bool] = lambda: False) -> list[PlayedEpisode]:
    """`detect market`: play `settings.episodes` simulated episodes of the given kinds (cycled) onto new pools
    of `market`, their posts into `settings.posts`, then let `settings.tail_s` of chain time pass with no trade
    (paced like the trades), so windows opened during the last episode can settle. The operator must be the
    market's deployer (it mints the quote token the simulated traders spend)."""
    from core.errors import ConfigError
    from marl_detector.calibration import calibrate
    from marl_detector.onchain.accounts import mine_at
    from marl_detector.sim import KINDS, simulate_episode
    from marl_detector.social import build_world

    unknown = [k for k in settings.kinds if k not in KINDS]
    if unknown:
        raise ConfigError(f"unknown episode kind(s) {unknown}; choose from {', '.join(KINDS)}")
    if settings.posts is None:
        raise ConfigError("detect market needs a post feed: --posts FILE")
    if operator.call(market.quote.functions.minter()) != operator.address:
        raise ConfigError("the market operator must be the account that deployed the market (it mints the quote token)")
    calib = calibrate()
    world = build_world(settings.seed, calib)
    sender = TimedSender(operator.w3)
    played: list[PlayedEpisode] = []
    for spec, seed in market_specs(settings, world):
        if should_stop():
            return played
        ticker = f"SIM{len(market.pools)}"
        episode = play_episode(
            operator, market, ticker, lambda s=spec, k=seed: simulate_episode(world, calib, s, seed=k),
            settings.posts, seed=settings.seed, speedup=settings.speedup or None, sender=sender,
        )
        played.append(episode)
        if on_played is not None:
            on_played(episode)
    if settings.tail_s and played:
        end = chain_time(operator.w3) + settings.tail_s
        if settings.speedup:
            deadline = time.monotonic() + settings.tail_s / settings.speedup
            while time.monotonic() < deadline and not should_stop():
                time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))
        if not should_stop():
            mine_at(operator.w3, end)
    return played
