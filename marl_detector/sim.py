"""Market + social simulator: one prediction window per episode, on the integer AMM of the protocol.

Why this shape: the detector commits at `t0` and is judged by the delayed price reaction over `[t0, t0+H]`
(marl_detector/outcome.py). So every episode simulates 4 hours of observable history before `t0` and the
4-hour window after it, on a step grid of 5 minutes, and its label is *read from the resulting TWAP path*
with the protocol's rule — never copied from the scenario. A manipulation campaign that fails to move the
price is labelled NONE; an organic whale round trip can be labelled MANIPULATION (label noise, as on chain).

Scenarios (the economics that make detection possible but not trivial):
- quiet / organic_hype: noise trading with a diurnal rhythm; organic chatter or genuine enthusiasm.
- news (the hard negative): a credible outlet posts genuine news; organic reactions burst; informed buying
  moves the price to a new level that *persists* (price discovery). News may land before or after `t0`.
- campaign: manipulators accumulate, shill through a sybil cluster and rented accounts, pump at an announced
  time (calibrated on real Telegram pumps), retail FOMO buys in proportion to the hype's reach, then the
  manipulators dump and retail panics: a transient abnormal return that reverses.
Manipulator behaviour is the action `ManipulatorParams` (all in [0, 1]); evading detection has a price:
fewer sybils means renting costly aged accounts, mimicking organic text persuades less, spreading posts and
off-peak timing reach fewer buyers, pre-accumulating shows buy pressure. See docs/hideshill.md.

Each kind is one scenario function (`_quiet`, `_organic_hype`, `_news`, `_campaign`, dispatched by `_KINDS`)
on top of the shared pool, holders, chatter and noise trading; every number of the model is a named field of
MARKET, HYPE, NEWS, CAMPAIGN or WHALE, so a change of the economics is a change of one documented value.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np

from marl_detector.amm import WAD, Pool
from marl_detector.calibration import TimingCalibration
from marl_detector.observation import (
    EpisodeObservation,
    MarketObservation,
    PostRecord,
    SocialObservation,
    SwapRecord,
)
from marl_detector.outcome import Outcome, resolve
from marl_detector.social import INFLUENCER, World
from marl_detector.text import sample_text

STEP = 300  # seconds per simulation step
PRE_STEPS = 48  # observed history before t0 (4 h)
HORIZON = 14_400  # prediction horizon H (4 h), a multiple of 4
POST_STEPS = HORIZON // STEP
N_STEPS = PRE_STEPS + POST_STEPS
EPOCH_2024 = 1_704_067_200  # 2024-01-01 00:00 UTC, a Monday
DAY_S = 86_400
HOUR_S = 3_600

# Ranges written (lo, hi) are drawn with rng.integers(lo, hi) (hi excluded) or rng.uniform(lo, hi).


@dataclass(frozen=True)
class MarketModel:
    """The pool and the background every episode has: initial holders, noise traders, organic chatter."""

    days: int = 360  # episodes fall on one of the first 360 days of 2024 (every weekday, hour and season)
    ticker_letters: tuple[int, int] = (3, 6)  # meme tickers have 3 to 5 capital letters
    quote_reserve_median: float = 50.0  # initial quote reserve rq0 (in Q), log-normal: small meme pools
    quote_reserve_sigma: float = 0.5  # pools differ by ~1.6x either way, so absolute volumes mean little
    price_median: float = 1e-4  # initial price (Q per T), log-normal: meme tokens are cheap...
    price_sigma: float = 1.0  # ...and their level varies by more than 10x (features must use ratios, not levels)
    holders: tuple[int, int] = (20, 60)  # a few dozen organic wallets hold the token at the start
    holder_supply: float = 0.5  # they hold half as many tokens as the pool (concentration features need holders)
    holder_pareto_shape: float = 1.2  # heavy-tailed bags: a few holders own most of the supply
    holder_min_weight: float = 0.05  # added to each Pareto draw so no holder has an empty bag
    activity_sigma: float = 0.3  # log-normal multiplier of the noise-trade rate: some pools are busier
    noise_trade_share: float = 0.001  # median noise trade, as a share of the current quote reserve (~0.1 %)
    noise_trade_sigma: float = 0.3  # log-normal spread of the pool's typical trade size
    noise_trades_per_step: float = 1.5  # Poisson rate of noise trades per 5-minute step, before the diurnal curve
    noise_size_sigma: float = 0.8  # log-normal spread of single noise trades around the pool's typical size
    noise_buy_prob: float = 0.5  # noise trades have a random side: no drift on their own
    noise_traders: int = 400  # distinct noise-trader wallets (repeat buyers occur by chance)
    noise_seller_bag: int = 2  # a noise seller first seen holds twice what it sells, so it can always sell
    informed_wallets: int = 100  # wallets that carry organic hype buying and informed (news) buying
    retail_wallets: int = 200  # retail wallets that buy a campaign's hype and panic-sell afterwards
    chatter_posts: int = 4  # Poisson mean of background chatter posts in the 4 h before t0
    diurnal_base: float = 0.6  # organic activity oscillates between 0.2 and 1.0 of its peak over a day...
    diurnal_amplitude: float = 0.4
    diurnal_phase_h: float = 9.0  # ...rising through its mean at 09:00 UTC, peaking at 15:00 UTC (Europe + US)
    community_post_share: float = 0.7  # when a community takes part, 70 % of the organic posts come from it


@dataclass(frozen=True)
class HypeModel:
    """organic_hype: genuine enthusiasm, often from a densely connected organic community, with mild buying."""

    chatter_posts: int = 6  # hyped tokens are talked about more in the background too
    posts: tuple[int, int] = (6, 35)  # enthusiastic posts: a burst as large as a small campaign's
    earliest_peak_step: int = 4  # the burst peaks anywhere from 20 min into the window to just before t0
    lead_steps: float = 8.0  # mean steps (40 min) a post precedes the peak: posts trail off into the past
    community_prob: float = 0.6  # share of hype driven by one organic community (coordinated, yet not sybils)
    hype_text_share: float = 0.8  # the rest of the burst is ordinary chatter
    max_push: float = 0.012  # buying per post, up to 1.2 % of the quote reserve: mild organic buy pressure


@dataclass(frozen=True)
class NewsModel:
    """news, the hard negative: genuine news, organic reactions, informed buying to a new persistent level."""

    steps_before_t0: int = 20  # the outlet posts from 100 min before t0...
    steps_after_t0: int = 6  # ...to 30 min after it (then only the insiders' leak is visible at t0)
    community_prob: float = 0.5  # share of news episodes whose reactions come mostly from one community
    jump: tuple[float, float] = (0.05, 0.7)  # the price rises by J ~ U(5 %, 70 %): below and above the 10 % threshold
    base_reactions: int = 5  # reaction posts: 5 plus 30 per unit of J (bigger news, more talk)...
    reactions_per_jump: float = 30.0
    reaction_jitter: tuple[float, float] = (0.5, 1.5)  # ...times a factor in [0.5, 1.5)
    reaction_delay_s: float = 1800.0  # reactions follow the news after an exponential delay, mean 30 min
    reaction_text_share: float = 0.6  # the rest of the reactions are generic hype
    buy_overshoot: float = 1.05  # informed buyers bring 5 % more than the jump needs (fees, noise sellers)
    decay_steps: tuple[float, float] = (2.0, 10.0)  # informed buying decays with a 10 to 50 min time constant
    max_leak: float = 0.3  # insiders trade up to 30 % of the informed volume ahead of the news...
    leak_lead_steps: tuple[int, int] = (3, 13)  # ...spread over the 15 to 60 min before it


@dataclass(frozen=True)
class CampaignModel:
    """campaign: accumulate, shill, pump at the announced time, dump; retail buys the hype and then panics.

    Reach, urgency and timing set how much retail buys (the FOMO), which is what a campaign's evasive choices
    cost: fewer or spread or mimicked posts and off-peak timing all move the price less.
    """

    max_lead_steps: int = 6  # the detector commits 0 to 30 min before the announced pump
    budget_base: float = 0.15  # the manipulators' budget is 15 % of rq0...
    budget_per_intensity: float = 0.35  # ...plus 35 % per unit of intensity (15 to 50 %)...
    budget_jitter: tuple[float, float] = (0.8, 1.2)  # ...give or take 20 %
    wallets: tuple[int, int] = (3, 12)  # 3 to 11 manipulator wallets
    accumulation_base: float = 0.1  # 10 % of the budget is bought before t0...
    accumulation_per_param: float = 0.6  # ...plus 60 % per unit of `accumulation` (10 to 70 %)
    accumulation_buys: tuple[int, int] = (5, 16)  # in 5 to 15 buys...
    accumulation_quiet_steps: int = 6  # ...anywhere in the window except its last 30 min
    min_posts: int = 3  # shill posts: at least 3...
    base_posts: float = 6.0  # ...6 plus 34 per unit of intensity (6 to 40)...
    posts_per_intensity: float = 34.0
    posts_jitter: tuple[float, float] = (0.8, 1.2)  # ...give or take 20 %
    burst_steps: int = 6  # bursty posts land in the last 30 min before t0...
    spread_steps: int = 40  # ...the others anywhere in the last 200 min
    rented_influencer_share: float = 0.3  # non-sybil posts: 30 % bought from influencers, the rest from aged accounts
    sybil_post_cost: float = 0.0005  # account costs per post, in units of rq0: a sybil is nearly free...
    influencer_post_cost: float = 0.02  # ...an influencer's post is expensive...
    aged_post_cost: float = 0.004  # ...and a rented aged account is in between
    mimic_hype_share: float = 0.5  # a mimicking post copies organic hype or (the other half) news reactions
    mimic_reach: float = 0.55  # a mimicked post persuades about half as much as the style's own wording
    influencer_reach: float = 4.0  # an influencer's post adds this much reach on top of log(1 + followers)
    stealth_penalty: float = 0.35  # off-peak timing reaches up to 35 % fewer buyers
    urgency_base: float = 0.7  # urgency: FOMO x 0.7 when posts are spread...
    urgency_per_burstiness: float = 0.6  # ...up to x 1.3 when packed into the last 30 min
    fomo_per_reach: float = 0.45  # retail buys 0.45 rq0 per `reach_unit` of reach, before timing, urgency, luck
    reach_unit: float = 100.0  # default-behaviour campaigns reach 100 to 175 (10th-90th percentile)
    fomo_sigma: float = 0.25  # log-normal luck of the campaign's FOMO
    fomo_during_shill: float = 0.03  # 3 % of the FOMO buys during the shill (the pre-pump footprint stays small)...
    fomo_after_pump: float = 0.97  # ...97 % after the pump
    fomo_steps: int = 10  # after-pump FOMO lasts 50 min...
    fomo_decay_steps: float = 3.0  # ...decaying exponentially with a 15-minute scale
    pump_first_buy: float = 0.6  # the manipulators buy 60 % of the remaining budget at the pump...
    pump_second_buy: float = 0.4  # ...and 40 % one step later
    dump_delay_steps: tuple[int, int] = (2, 6)  # the dump starts 10 to 25 min after the pump...
    dump_steps: tuple[int, int] = (3, 11)  # ...and lasts 15 to 50 min
    panic_share: tuple[float, float] = (0.3, 0.7)  # then retail sells 30 to 70 % of its bag...
    panic_steps: int = 6  # ...over 30 min


@dataclass(frozen=True)
class WhaleModel:
    """An organic whale round trip after t0 in a non-campaign episode: a transient move, no campaign (label noise)."""

    probability: float = 0.01  # 1 % of non-campaign episodes
    entry_steps: int = 8  # the whale buys in the first 40 min after t0...
    size: tuple[float, float] = (0.1, 0.3)  # ...10 to 30 % of rq0...
    exit_step: int = 14  # ...and sells everything 70 min after t0


MARKET = MarketModel()
HYPE = HypeModel()
NEWS = NewsModel()
CAMPAIGN = CampaignModel()
WHALE = WhaleModel()
DETECTABLE_MIN_POSTS = CAMPAIGN.min_posts  # see SimulatedEpisode.detectable


@dataclass(frozen=True)
class ManipulatorParams:
    """The manipulator's action for one campaign; every field in [0, 1]."""

    intensity: float = 0.6  # budget and number of shill posts
    sybil_share: float = 0.8  # share of shill posts from the sybil cluster (rest: rented aged accounts)
    burstiness: float = 0.7  # 1: posts packed in the last 30 min; 0: spread over 4 h
    stealth_timing: float = 0.1  # 0: real pump timing (round hour, peak hours); 1: organic-looking time
    mimicry: float = 0.1  # probability a shill post copies organic/news wording
    accumulation: float = 0.4  # share of the budget bought visibly before t0

    @staticmethod
    def names() -> tuple[str, ...]:
        return tuple(ManipulatorParams.__dataclass_fields__)

    def as_array(self) -> np.ndarray:
        return np.array([getattr(self, n) for n in self.names()], dtype=float)

    @classmethod
    def from_array(cls, a: np.ndarray) -> "ManipulatorParams":
        return cls(*[float(min(1.0, max(0.0, x))) for x in a])


# Each style is a text family plus its typical behaviour (mean params); campaigns jitter around it.
STYLE_DEFAULTS: dict[str, ManipulatorParams] = {
    "moon_emoji": ManipulatorParams(0.7, 0.9, 0.8, 0.05, 0.05, 0.3),
    "fake_partnership": ManipulatorParams(0.6, 0.6, 0.6, 0.2, 0.25, 0.5),
    "influencer": ManipulatorParams(0.6, 0.4, 0.7, 0.1, 0.1, 0.4),
    "technical_analysis": ManipulatorParams(0.5, 0.7, 0.4, 0.2, 0.15, 0.6),
    "airdrop": ManipulatorParams(0.65, 0.85, 0.6, 0.1, 0.05, 0.3),
    "whale_alert": ManipulatorParams(0.6, 0.75, 0.7, 0.25, 0.2, 0.6),
    "community_meme": ManipulatorParams(0.65, 0.8, 0.35, 0.3, 0.2, 0.35),
}


@dataclass(frozen=True)
class EpisodeSpec:
    episode_id: str
    kind: str
    style: str = ""
    cluster: int = -1
    params: ManipulatorParams | None = None


@dataclass
class SimulatedEpisode:
    spec: EpisodeSpec
    observation: EpisodeObservation
    outcome: Outcome
    manipulator_profit: float  # in units of the initial quote reserve (campaigns only, else 0)
    whale_round_trip: bool
    pump_time: int = 0  # announced pump time (campaigns only): the deadline for an early warning
    capital_at_risk: float = 0.0  # Q spent on tokens + account costs, in units of the initial quote reserve
    visible_shill_posts: int = 0  # campaign posts before t0 that show it: by a sybil or in the style's own wording

    @property
    def detectable(self) -> bool:
        """Whether the campaign can be told from what a detector sees (`DETECTABLE_MIN_POSTS` visible shill posts).

        Why this definition: every campaign posts before `t0`, but a post copied from organic wording (`mimicry`)
        by a rented organic account is, in the observation, an organic post; only posts by the sybil cluster or in
        the campaign's own wording carry its trace. A campaign with fewer such posts than the smallest campaign
        makes (`CAMPAIGN.min_posts`) is invisible in the social view, and the robustness benchmark reports it apart.
        """
        return self.spec.kind == "campaign" and self.visible_shill_posts >= DETECTABLE_MIN_POSTS


class _Market:
    """A pool plus trade bookkeeping: records observable swaps before t0 and tracks T balances."""

    def __init__(self, pool: Pool, t0: int) -> None:
        self.pool, self.t0 = pool, t0
        self.swaps: list[SwapRecord] = []
        self.balances: dict[str, int] = {}

    def buy(self, trader: str, q: float, now: int) -> int:
        amount = int(q * WAD)
        if amount <= 0:
            return 0
        out = self.pool.swap_q_for_t(amount, now)
        self.balances[trader] = self.balances.get(trader, 0) + out
        self._record(now, trader, True, amount, out)
        return out

    def sell(self, trader: str, t_amount: int, now: int) -> float:
        t_amount = min(t_amount, self.balances.get(trader, 0))
        if t_amount <= 0:
            return 0.0
        out = self.pool.swap_t_for_q(t_amount, now)
        self.balances[trader] -= t_amount
        self._record(now, trader, False, out, t_amount)
        return out / WAD

    def _record(self, now: int, trader: str, is_buy: bool, q: int, t: int) -> None:
        if now < self.t0:
            self.swaps.append(SwapRecord(now, trader, is_buy, q, t, self.pool.reserve_q, self.pool.reserve_t))

    @property
    def rq(self) -> float:
        return self.pool.reserve_q / WAD


def _diurnal(hour: float | np.ndarray) -> float | np.ndarray:
    """Organic activity by UTC hour: low at night in Europe/US, peak in the afternoon/evening."""
    sin = np.sin if isinstance(hour, np.ndarray) else math.sin
    return MARKET.diurnal_base + MARKET.diurnal_amplitude * sin((hour - MARKET.diurnal_phase_h) / 24 * 2 * math.pi)


def _campaign_times(rng: np.random.Generator, calib: TimingCalibration, p: ManipulatorParams) -> tuple[int, int]:
    """(t0, pump time): a real-looking announced time unless the manipulator hides its timing."""
    day = int(rng.integers(0, MARKET.days))
    if rng.random() < p.stealth_timing:
        hour, minute = int(rng.integers(0, 24)), int(rng.integers(0, 60))
    else:
        hour = calib.sample_hour(rng)
        minute = 0 if rng.random() < calib.on_the_hour else int(rng.integers(0, 60))
        # move the day to a weekday drawn from the real weekday mix (EPOCH_2024 is a Monday)
        day = day - day % 7 + calib.sample_weekday(rng)
    pump = EPOCH_2024 + day * DAY_S + hour * HOUR_S + minute * 60
    lead = int(rng.integers(0, CAMPAIGN.max_lead_steps + 1)) * STEP
    return pump - lead, pump


def _organic_times(rng: np.random.Generator, calib: TimingCalibration, p: ManipulatorParams) -> tuple[int, int]:
    """(t0, 0): any day, an hour drawn from the diurnal activity curve; nothing is announced."""
    day = int(rng.integers(0, MARKET.days))
    while True:  # rejection-sample the diurnal curve
        hour = rng.uniform(0, 24)
        if rng.random() < _diurnal(hour):
            break
    return EPOCH_2024 + day * DAY_S + int(hour * HOUR_S), 0


@dataclass
class _Scene:
    """One episode being built: its random stream and token, and what its scenario adds on top of noise trading
    (posts, extra buying per step, the share of retail bags sold per step, an organic whale)."""

    world: World
    rng: np.random.Generator
    spec: EpisodeSpec
    params: ManipulatorParams
    t0: int
    pump_time: int
    ticker: str
    rq0: float
    organic_cdf: np.ndarray
    posts: list[tuple[int, int, str]] = field(default_factory=list)  # (timestamp, world account index, text)
    extra_buy: np.ndarray = field(default_factory=lambda: np.zeros(N_STEPS))  # Q bought beyond noise, per step
    extra_sell_frac: np.ndarray = field(default_factory=lambda: np.zeros(N_STEPS))  # share of retail T sold, per step
    whale: bool = False

    @property
    def t_start(self) -> int:
        return self.t0 - PRE_STEPS * STEP

    def step_time(self, k: int) -> int:
        return self.t_start + k * STEP

    def organic_poster(self) -> int:
        organic = self.world.organic
        return int(organic[min(int(np.searchsorted(self.organic_cdf, self.rng.random())), len(organic) - 1)])

    def fan_or_organic(self, community: np.ndarray | None) -> int:
        if community is not None and self.rng.random() < MARKET.community_post_share:
            return int(self.rng.choice(community))
        return self.organic_poster()

    def pick_community(self, prob: float) -> np.ndarray | None:
        if self.rng.random() < prob:
            return self.world.communities[int(self.rng.integers(len(self.world.communities)))]
        return None

    def post(self, timestamp: int, author: int, family: str) -> None:
        self.posts.append((timestamp, author, sample_text(family, self.rng, self.ticker)))


@dataclass
class _CampaignPlan:
    """The manipulators' trades, decided before the market runs."""

    wallets: list[str]
    accumulation: list[tuple[int, float]]  # (step, Q) buys before t0
    pump_budget: float  # Q bought at the pump (two buys)
    pump_step: int
    dump_start: int
    dump_len: int
    account_cost: float  # rented accounts and sybils, in units of rq0
    visible_posts: int = 0  # shill posts by a sybil or in the style's own wording


def _background_chatter(scene: _Scene, mean_posts: int) -> None:
    for _ in range(int(scene.rng.poisson(mean_posts))):
        ts = scene.t_start + int(scene.rng.integers(0, PRE_STEPS * STEP))
        scene.post(ts, scene.organic_poster(), "organic_chatter")


def _whale_round_trip(scene: _Scene) -> None:
    """Rarely, an organic whale buys after t0 (and sells at WHALE.exit_step): a transient move, no campaign."""
    rng = scene.rng
    if rng.random() < WHALE.probability:
        scene.whale = True
        k_in = PRE_STEPS + int(rng.integers(0, WHALE.entry_steps))
        scene.extra_buy[k_in] += scene.rq0 * float(rng.uniform(*WHALE.size))


def _quiet(scene: _Scene) -> None:
    _whale_round_trip(scene)


def _organic_hype(scene: _Scene) -> None:
    rng = scene.rng
    n = int(rng.integers(*HYPE.posts))
    center = int(rng.integers(HYPE.earliest_peak_step, PRE_STEPS))
    community = scene.pick_community(HYPE.community_prob)
    push = float(rng.uniform(0, HYPE.max_push))
    for _ in range(n):
        k = int(np.clip(center - rng.exponential(HYPE.lead_steps), 0, PRE_STEPS - 1))
        fam = "organic_hype" if rng.random() < HYPE.hype_text_share else "organic_chatter"
        ts = scene.step_time(k) + int(rng.integers(0, STEP))
        scene.post(ts, scene.fan_or_organic(community), fam)
        scene.extra_buy[k] += scene.rq0 * push * float(rng.random())
    _whale_round_trip(scene)


def _news(scene: _Scene) -> None:
    rng = scene.rng
    news_step = int(rng.integers(PRE_STEPS - NEWS.steps_before_t0, PRE_STEPS + NEWS.steps_after_t0))
    community = scene.pick_community(NEWS.community_prob)
    jump = float(rng.uniform(*NEWS.jump))
    outlet = int(rng.choice(scene.world.news))
    tn = scene.step_time(news_step) + int(rng.integers(0, STEP))
    scene.post(tn, outlet, "news")
    n_react = int(NEWS.base_reactions + NEWS.reactions_per_jump * jump * rng.uniform(*NEWS.reaction_jitter))
    for _ in range(n_react):
        dtm = int(rng.exponential(NEWS.reaction_delay_s))
        fam = "news_reaction" if rng.random() < NEWS.reaction_text_share else "organic_hype"
        scene.post(tn + dtm, scene.fan_or_organic(community), fam)
    # informed buying: enough Q to lift the price by ~jump (a constant-product price grows with rq^2), spread
    # with exponential decay (persistent)
    total = scene.rq0 * (math.sqrt(1 + jump) - 1) * NEWS.buy_overshoot
    decay = float(rng.uniform(*NEWS.decay_steps))
    w = np.exp(-np.arange(N_STEPS - news_step) / decay)
    leak = float(rng.uniform(0, NEWS.max_leak))  # insiders trade ahead of the announcement (information leakage)
    scene.extra_buy[news_step:] += (1 - leak) * total * w / w.sum()
    lead_steps = int(rng.integers(*NEWS.leak_lead_steps))
    scene.extra_buy[max(0, news_step - lead_steps):news_step] += leak * total / lead_steps
    _whale_round_trip(scene)


def _shill(scene: _Scene, cluster: np.ndarray) -> tuple[list[int], float, float, int]:
    """The campaign's posts: (their timestamps, account costs in units of rq0, their reach, how many are visibly
    shill: by a sybil or in the style's own wording)."""
    rng, p, world = scene.rng, scene.params, scene.world
    n_posts = max(CAMPAIGN.min_posts, int(round((CAMPAIGN.base_posts + CAMPAIGN.posts_per_intensity * p.intensity)
                                                * rng.uniform(*CAMPAIGN.posts_jitter))))
    times: list[int] = []
    cost = reach = 0.0
    visible = 0
    for _ in range(n_posts):
        if rng.random() < p.burstiness:
            k = PRE_STEPS - 1 - int(rng.integers(0, CAMPAIGN.burst_steps))
        else:
            k = int(rng.integers(PRE_STEPS - CAMPAIGN.spread_steps, PRE_STEPS))
        sybil = rng.random() < p.sybil_share
        if sybil:
            author = int(rng.choice(cluster))
            cost += CAMPAIGN.sybil_post_cost
        elif rng.random() < CAMPAIGN.rented_influencer_share:
            author = int(rng.choice(world.influencers))
            cost += CAMPAIGN.influencer_post_cost
        else:
            author = scene.organic_poster()
            cost += CAMPAIGN.aged_post_cost
        mimic = rng.random() < p.mimicry
        fam = scene.spec.style
        if mimic:
            fam = "organic_hype" if rng.random() < CAMPAIGN.mimic_hype_share else "news_reaction"
        times.append(scene.step_time(k) + int(rng.integers(0, STEP)))
        scene.post(times[-1], author, fam)
        visible += int(sybil or not mimic)
        reach += math.log1p(world.followers[author]) * (CAMPAIGN.mimic_reach if mimic else 1.0)
        if world.kind[author] == INFLUENCER:
            reach += CAMPAIGN.influencer_reach
    return times, cost, reach, visible


def _campaign(scene: _Scene) -> _CampaignPlan:
    rng, p, rq0 = scene.rng, scene.params, scene.rq0
    cluster = scene.world.clusters[scene.spec.cluster]
    budget = (rq0 * (CAMPAIGN.budget_base + CAMPAIGN.budget_per_intensity * p.intensity)
              * float(rng.uniform(*CAMPAIGN.budget_jitter)))
    pump_step = PRE_STEPS + (scene.pump_time - scene.t0) // STEP
    wallets = [f"m{i}" for i in range(int(rng.integers(*CAMPAIGN.wallets)))]
    acc_budget = budget * (CAMPAIGN.accumulation_base + CAMPAIGN.accumulation_per_param * p.accumulation)
    n_buys = int(rng.integers(*CAMPAIGN.accumulation_buys))
    acc_steps = rng.integers(0, PRE_STEPS - CAMPAIGN.accumulation_quiet_steps, size=n_buys)
    accumulation = [(int(k), acc_budget / len(acc_steps)) for k in acc_steps]
    shill_times, account_cost, reach, visible = _shill(scene, cluster)
    timing = 1.0 - CAMPAIGN.stealth_penalty * p.stealth_timing
    urgency = CAMPAIGN.urgency_base + CAMPAIGN.urgency_per_burstiness * p.burstiness
    fomo = (rq0 * CAMPAIGN.fomo_per_reach * (reach / CAMPAIGN.reach_unit) * timing * urgency
            * float(rng.lognormal(0, CAMPAIGN.fomo_sigma)))
    # a little retail buys already during the shill, most right after the pump
    shill_steps = [max(0, min(PRE_STEPS - 1, (ts - scene.t_start) // STEP)) for ts in shill_times]
    for k in shill_steps:
        scene.extra_buy[k] += CAMPAIGN.fomo_during_shill * fomo / len(shill_steps)
    w = np.exp(-np.arange(CAMPAIGN.fomo_steps) / CAMPAIGN.fomo_decay_steps)
    for j in range(CAMPAIGN.fomo_steps):
        if pump_step + j < N_STEPS:
            scene.extra_buy[pump_step + j] += CAMPAIGN.fomo_after_pump * fomo * w[j] / w.sum()
    dump_start = pump_step + int(rng.integers(*CAMPAIGN.dump_delay_steps))
    dump_len = int(rng.integers(*CAMPAIGN.dump_steps))
    panic_start = dump_start + dump_len
    panic_frac = float(rng.uniform(*CAMPAIGN.panic_share))
    for j in range(CAMPAIGN.panic_steps):
        if panic_start + j < N_STEPS:
            scene.extra_sell_frac[panic_start + j] = 1 - (1 - panic_frac) ** (1 / CAMPAIGN.panic_steps)
    return _CampaignPlan(wallets, accumulation, budget - acc_budget, pump_step, dump_start, dump_len, account_cost, visible)


@dataclass(frozen=True)
class _Kind:
    """How an episode kind is timed, how much background chatter it has, and what its scenario adds."""

    times: Callable[[np.random.Generator, TimingCalibration, ManipulatorParams], tuple[int, int]]
    chatter_posts: int
    scenario: Callable[[_Scene], _CampaignPlan | None]


_KINDS: dict[str, _Kind] = {
    "quiet": _Kind(_organic_times, MARKET.chatter_posts, _quiet),
    "organic_hype": _Kind(_organic_times, HYPE.chatter_posts, _organic_hype),
    "news": _Kind(_organic_times, MARKET.chatter_posts, _news),
    "campaign": _Kind(_campaign_times, MARKET.chatter_posts, _campaign),
}
KINDS = tuple(_KINDS)


def _seed_holders(rng: np.random.Generator, mk: _Market) -> None:
    """Initial holders (for concentration features): a few dozen organic wallets with heavy-tailed bags."""
    n_holders = int(rng.integers(*MARKET.holders))
    supply_out = mk.pool.reserve_t * MARKET.holder_supply
    shares = rng.pareto(MARKET.holder_pareto_shape, n_holders) + MARKET.holder_min_weight
    for i, s in enumerate(shares / shares.sum()):
        mk.balances[f"h{i}"] = int(supply_out * s)


@dataclass
class _Cash:
    """Q the manipulators spent and received (both 0 without a campaign)."""

    spent: float = 0.0
    received: float = 0.0


def _run_market(scene: _Scene, mk: _Market, plan: _CampaignPlan | None, activity: float, trade_size: float) -> _Cash:
    """Play every step: noise trades, then the scenario's flows and the manipulators' trades."""
    rng = scene.rng
    accumulation = plan.accumulation if plan is not None else []
    acc_by_step: dict[int, float] = {}
    for k, q in accumulation:
        acc_by_step[k] = acc_by_step.get(k, 0.0) + q
    cash = _Cash(spent=sum(q for _, q in accumulation))
    n_wallet = 0
    retail_wallets: list[str] = []
    hours = ((scene.t_start + np.arange(N_STEPS) * STEP) % DAY_S) / HOUR_S
    n_trades_all = rng.poisson(MARKET.noise_trades_per_step * activity * _diurnal(hours))
    n_noise = int(n_trades_all.sum())
    noise_trader = rng.integers(0, MARKET.noise_traders, size=n_noise)
    noise_size = trade_size * rng.lognormal(0, MARKET.noise_size_sigma, size=n_noise)
    noise_buy = rng.random(n_noise) < MARKET.noise_buy_prob
    j_noise = 0
    for k in range(N_STEPS):
        now = scene.step_time(k)
        for _ in range(int(n_trades_all[k])):
            trader = f"o{noise_trader[j_noise]}"
            size = mk.rq * float(noise_size[j_noise])
            is_buy = bool(noise_buy[j_noise])
            j_noise += 1
            if is_buy:
                mk.buy(trader, size, now)
            else:
                t_amount = int(size * WAD) * mk.pool.reserve_t // mk.pool.reserve_q
                mk.balances.setdefault(trader, MARKET.noise_seller_bag * t_amount)
                mk.sell(trader, t_amount, now)
        if k in acc_by_step:
            assert plan is not None
            mk.buy(plan.wallets[n_wallet % len(plan.wallets)], acc_by_step[k], now)
            n_wallet += 1
        if scene.extra_buy[k] > 0:
            if plan is not None:
                trader = f"r{int(rng.integers(0, MARKET.retail_wallets))}"
                retail_wallets.append(trader)
            elif scene.whale and k >= PRE_STEPS:
                trader = "whale"
            else:
                trader = f"i{int(rng.integers(0, MARKET.informed_wallets))}"
            mk.buy(trader, float(scene.extra_buy[k]), now)
        if scene.whale and k == PRE_STEPS + WHALE.exit_step:
            mk.sell("whale", mk.balances.get("whale", 0), now)
        if plan is not None:
            _campaign_step(plan, mk, k, now, scene.extra_sell_frac[k], retail_wallets, cash)
    return cash


def _campaign_step(plan: _CampaignPlan, mk: _Market, k: int, now: int, panic_frac: float, retail_wallets: list[str],
                   cash: _Cash) -> None:
    """The manipulators' pump and dump at step k, and retail's panic."""
    if k == plan.pump_step:
        mk.buy(plan.wallets[0], plan.pump_budget * CAMPAIGN.pump_first_buy, now)
        cash.spent += plan.pump_budget * CAMPAIGN.pump_first_buy
    elif k == plan.pump_step + 1:
        mk.buy(plan.wallets[-1], plan.pump_budget * CAMPAIGN.pump_second_buy, now)
        cash.spent += plan.pump_budget * CAMPAIGN.pump_second_buy
    if plan.dump_start <= k < plan.dump_start + plan.dump_len:
        for wlt in plan.wallets:
            bal = mk.balances.get(wlt, 0)
            left = plan.dump_start + plan.dump_len - k
            cash.received += mk.sell(wlt, bal // left, now)
    if panic_frac > 0:
        for wlt in sorted(set(retail_wallets)):  # retail panic: sells part of what it bought
            mk.sell(wlt, int(mk.balances.get(wlt, 0) * panic_frac), now)


def _observation(scene: _Scene, mk: _Market, reserve_q0: int, reserve_t0: int) -> EpisodeObservation:
    """What a detector sees at t0: only what happened before it."""
    world, t0 = scene.world, scene.t0
    members = sorted({a for ts, a, _ in scene.posts if ts < t0})
    market = MarketObservation(
        t_start=scene.t_start, t0=t0, reserve_q_start=reserve_q0, reserve_t_start=reserve_t0,
        swaps=mk.swaps,
        holder_balances={a: b for a, b in _balances_at_t0(mk).items() if b > 0},
    )
    social = SocialObservation(
        posts=sorted((PostRecord(ts, world.ids[a], txt) for ts, a, txt in scene.posts if ts < t0), key=lambda x: x.timestamp),
        accounts={world.ids[a]: world.account(a) for a in members},
        follows=world.follows_among(members),
    )
    return EpisodeObservation(scene.spec.episode_id, scene.ticker, t0, HORIZON, market, social)


def simulate_episode(world: World, calib: TimingCalibration, spec: EpisodeSpec, seed: int) -> SimulatedEpisode:
    """Simulate one episode deterministically from `seed` (every random draw comes from one stream, in order)."""
    kind = _KINDS.get(spec.kind)
    if kind is None:
        raise ValueError(f"unknown episode kind {spec.kind!r}; expected one of {KINDS}")
    rng = np.random.default_rng(seed)
    params = spec.params or ManipulatorParams()
    t0, pump_time = kind.times(rng, calib, params)
    n_letters = int(rng.integers(*MARKET.ticker_letters))
    ticker = "".join(chr(ord("A") + int(c)) for c in rng.integers(0, 26, size=n_letters))
    rq0 = MARKET.quote_reserve_median * float(rng.lognormal(0, MARKET.quote_reserve_sigma))
    price0 = float(rng.lognormal(np.log(MARKET.price_median), MARKET.price_sigma))
    reserve_q0, reserve_t0 = int(rq0 * WAD), int(rq0 / price0 * WAD)
    scene = _Scene(world, rng, spec, params, t0, pump_time, ticker, rq0, world.organic_cdf())
    pool = Pool.create(reserve_q0, reserve_t0, now=scene.t_start - STEP)
    mk = _Market(pool, t0)
    _seed_holders(rng, mk)
    activity = float(rng.lognormal(0, MARKET.activity_sigma))
    trade_size = MARKET.noise_trade_share * float(rng.lognormal(0, MARKET.noise_trade_sigma))
    _background_chatter(scene, kind.chatter_posts)
    plan = kind.scenario(scene)
    cash = _run_market(scene, mk, plan, activity, trade_size)
    outcome = resolve(pool, t0, HORIZON)
    obs = _observation(scene, mk, reserve_q0, reserve_t0)
    if plan is None:
        return SimulatedEpisode(spec, obs, outcome, 0.0, scene.whale, pump_time, 0.0)
    profit = (cash.received - cash.spent) / rq0 - plan.account_cost
    at_risk = cash.spent / rq0 + plan.account_cost
    return SimulatedEpisode(spec, obs, outcome, profit, scene.whale, pump_time, at_risk, plan.visible_posts)


def _balances_at_t0(mk: _Market) -> dict[str, int]:
    """Holder balances as of t0, rebuilt from the observable swaps (what Transfer logs give on chain)."""
    bal = {a: b for a, b in mk.balances.items() if a.startswith("h")}
    for s in mk.swaps:
        bal[s.trader] = bal.get(s.trader, 0) + (s.amount_t if s.is_buy else -s.amount_t)
    return bal

