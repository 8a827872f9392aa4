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
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

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
EPOCH_2024 = 1_704_067_200  # 2024-01-01 00:00 UTC, a Monday
KINDS = ("quiet", "organic_hype", "news", "campaign")


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


def _diurnal(hour: float) -> float:
    """Organic activity by UTC hour: low at night in Europe/US, peak in the afternoon/evening."""
    return 0.6 + 0.4 * math.sin((hour - 9) / 24 * 2 * math.pi)


def _campaign_t0(rng: np.random.Generator, calib: TimingCalibration, stealth: float) -> tuple[int, int]:
    """(t0, pump time): a real-looking announced time unless the manipulator hides its timing."""
    day = int(rng.integers(0, 360))
    if rng.random() < stealth:
        hour, minute = int(rng.integers(0, 24)), int(rng.integers(0, 60))
    else:
        hour = calib.sample_hour(rng)
        minute = 0 if rng.random() < calib.on_the_hour else int(rng.integers(0, 60))
        # move the day to a weekday drawn from the real weekday mix (EPOCH_2024 is a Monday)
        day = day - day % 7 + calib.sample_weekday(rng)
    pump = EPOCH_2024 + day * 86400 + hour * 3600 + minute * 60
    lead = int(rng.integers(0, 7)) * STEP  # the detector commits up to 30 min before the pump
    return pump - lead, pump


def _organic_t0(rng: np.random.Generator) -> int:
    day = int(rng.integers(0, 360))
    while True:  # rejection-sample the diurnal curve
        hour = rng.uniform(0, 24)
        if rng.random() < _diurnal(hour):
            break
    return EPOCH_2024 + day * 86400 + int(hour * 3600)


def simulate_episode(world: World, calib: TimingCalibration, spec: EpisodeSpec, seed: int) -> SimulatedEpisode:
    """Simulate one episode deterministically from `seed`."""
    rng = np.random.default_rng(seed)
    p = spec.params or ManipulatorParams()
    if spec.kind == "campaign":
        t0, pump_time = _campaign_t0(rng, calib, p.stealth_timing)
    else:
        t0, pump_time = _organic_t0(rng), 0
    t_start = t0 - PRE_STEPS * STEP
    ticker = "".join(chr(65 + int(c)) for c in rng.integers(0, 26, size=int(rng.integers(3, 6))))
    rq0 = 50.0 * float(rng.lognormal(0, 0.5))
    price0 = float(rng.lognormal(np.log(1e-4), 1.0))
    pool = Pool.create(int(rq0 * WAD), int(rq0 / price0 * WAD), now=t_start - STEP)
    mk = _Market(pool, t0)
    # initial holders (for concentration): a few dozen organic wallets
    n_holders = int(rng.integers(20, 60))
    supply_out = pool.reserve_t * 0.5
    shares = rng.pareto(1.2, n_holders) + 0.05
    for i, s in enumerate(shares / shares.sum()):
        mk.balances[f"h{i}"] = int(supply_out * s)

    posts: list[tuple[int, int, str]] = []  # (timestamp, world account index, text)
    n_steps = PRE_STEPS + POST_STEPS
    extra_buy = np.zeros(n_steps)  # Q bought by informed/retail flows per step, beyond noise
    extra_sell_frac = np.zeros(n_steps)  # fraction of retail-held T sold per step
    activity = float(rng.lognormal(0, 0.3))
    trade_size = 0.001 * float(rng.lognormal(0, 0.3))

    def step_time(k: int) -> int:
        return t_start + k * STEP

    organic_cdf = world.organic_cdf()

    def organic_poster() -> int:
        return int(world.organic[min(int(np.searchsorted(organic_cdf, rng.random())), len(world.organic) - 1)])

    # ---- background chatter ------------------------------------------------------------------------
    n_chatter = int(rng.poisson(4 if spec.kind != "organic_hype" else 6))
    for _ in range(n_chatter):
        posts.append((t_start + int(rng.integers(0, PRE_STEPS * STEP)), organic_poster(), sample_text("organic_chatter", rng, ticker)))

    manip_wallets: list[str] = []
    retail_wallets: list[str] = []
    budget_post = 0.0
    pump_step = -1
    whale = False
    account_cost = 0.0

    def fan_or_organic(community: np.ndarray | None) -> int:
        return int(rng.choice(community)) if community is not None and rng.random() < 0.7 else organic_poster()

    def pick_community(prob: float) -> np.ndarray | None:
        return world.communities[int(rng.integers(len(world.communities)))] if rng.random() < prob else None

    if spec.kind == "organic_hype":
        n = int(rng.integers(6, 35))
        center = int(rng.integers(4, PRE_STEPS))
        community = pick_community(0.6)
        push = float(rng.uniform(0, 0.012))
        for _ in range(n):
            k = int(np.clip(center - rng.exponential(8), 0, PRE_STEPS - 1))
            fam = "organic_hype" if rng.random() < 0.8 else "organic_chatter"
            posts.append((step_time(k) + int(rng.integers(0, STEP)), fan_or_organic(community), sample_text(fam, rng, ticker)))
            extra_buy[k] += rq0 * push * float(rng.random())
    elif spec.kind == "news":
        news_step = int(rng.integers(PRE_STEPS - 20, PRE_STEPS + 6))
        community = pick_community(0.5)
        jump = float(rng.uniform(0.05, 0.7))
        outlet = int(rng.choice(world.news))
        tn = step_time(news_step) + int(rng.integers(0, STEP))
        posts.append((tn, outlet, sample_text("news", rng, ticker)))
        n_react = int(5 + 30 * jump * rng.uniform(0.5, 1.5))
        for _ in range(n_react):
            dtm = int(rng.exponential(1800))
            fam = "news_reaction" if rng.random() < 0.6 else "organic_hype"
            posts.append((tn + dtm, fan_or_organic(community), sample_text(fam, rng, ticker)))
        # informed buying: enough Q to lift the price by ~jump, spread with exponential decay (persistent)
        total = rq0 * (math.sqrt(1 + jump) - 1) * 1.05
        decay = float(rng.uniform(2, 10))
        w = np.exp(-np.arange(n_steps - news_step) / decay)
        leak = float(rng.uniform(0, 0.3))  # insiders trade ahead of the announcement (information leakage)
        extra_buy[news_step:] += (1 - leak) * total * w / w.sum()
        lead_steps = int(rng.integers(3, 13))
        extra_buy[max(0, news_step - lead_steps):news_step] += leak * total / lead_steps
    elif spec.kind == "campaign":
        cluster = world.clusters[spec.cluster]
        budget = rq0 * (0.15 + 0.35 * p.intensity) * float(rng.uniform(0.8, 1.2))
        pump_step = PRE_STEPS + (pump_time - t0) // STEP
        manip_wallets = [f"m{i}" for i in range(int(rng.integers(3, 12)))]
        acc_budget = budget * (0.1 + 0.6 * p.accumulation)
        budget_post = budget - acc_budget
        acc_steps = rng.integers(0, PRE_STEPS - 6, size=int(rng.integers(5, 16)))
        acc_plan = [(int(k), acc_budget / len(acc_steps)) for k in acc_steps]
        # shill posts
        n_posts = max(3, int(round((6 + 34 * p.intensity) * rng.uniform(0.8, 1.2))))
        reach = 0.0
        for _ in range(n_posts):
            if rng.random() < p.burstiness:
                k = PRE_STEPS - 1 - int(rng.integers(0, 6))
            else:
                k = int(rng.integers(PRE_STEPS - 40, PRE_STEPS))
            r = rng.random()
            if r < p.sybil_share:
                author = int(rng.choice(cluster))
                account_cost += 0.0005
            elif rng.random() < 0.3:
                author = int(rng.choice(world.influencers))
                account_cost += 0.02
            else:
                author = organic_poster()
                account_cost += 0.004
            mimic = rng.random() < p.mimicry
            fam = ("organic_hype" if rng.random() < 0.5 else "news_reaction") if mimic else spec.style
            posts.append((step_time(k) + int(rng.integers(0, STEP)), author, sample_text(fam, rng, ticker)))
            reach += math.log1p(world.followers[author]) * (0.55 if mimic else 1.0)
            if world.kind[author] == INFLUENCER:
                reach += 4.0
        timing = 1.0 - 0.35 * p.stealth_timing
        urgency = 0.7 + 0.6 * p.burstiness
        fomo = rq0 * 0.45 * (reach / 100.0) * timing * urgency * float(rng.lognormal(0, 0.25))
        # a little retail buys already during the shill, most right after the pump
        post_ks = [max(0, min(PRE_STEPS - 1, (ts - t_start) // STEP)) for ts, _, _ in posts[n_chatter:]]
        for k in post_ks:
            extra_buy[k] += 0.03 * fomo / len(post_ks)
        w = np.exp(-np.arange(10) / 3.0)
        for j in range(10):
            if pump_step + j < n_steps:
                extra_buy[pump_step + j] += 0.97 * fomo * w[j] / w.sum()
        dump_start = pump_step + int(rng.integers(2, 6))
        dump_len = int(rng.integers(3, 11))
        panic_start = dump_start + dump_len
        panic_frac = float(rng.uniform(0.3, 0.7))
        for j in range(6):
            if panic_start + j < n_steps:
                extra_sell_frac[panic_start + j] = 1 - (1 - panic_frac) ** (1 / 6)
    else:
        acc_plan = []

    if spec.kind != "campaign":
        acc_plan = []
        if rng.random() < 0.01:  # organic whale round trip after t0: a transient move without a campaign
            whale = True
            k_in = PRE_STEPS + int(rng.integers(0, 8))
            extra_buy[k_in] += rq0 * float(rng.uniform(0.1, 0.3))

    # ---- run the market step by step -----------------------------------------------------------------
    acc_by_step: dict[int, float] = {}
    for k, q in acc_plan:
        acc_by_step[k] = acc_by_step.get(k, 0.0) + q
    spent = sum(q for _, q in acc_plan)
    received = 0.0
    n_wallet = 0
    hours = ((t_start + np.arange(n_steps) * STEP) % 86400) / 3600.0
    n_trades_all = rng.poisson(1.5 * activity * (0.6 + 0.4 * np.sin((hours - 9) / 24 * 2 * np.pi)))
    n_noise = int(n_trades_all.sum())
    noise_trader = rng.integers(0, 400, size=n_noise)
    noise_size = trade_size * rng.lognormal(0, 0.8, size=n_noise)
    noise_buy = rng.random(n_noise) < 0.5
    j_noise = 0
    for k in range(n_steps):
        now = step_time(k)
        for _ in range(int(n_trades_all[k])):
            trader = f"o{noise_trader[j_noise]}"
            size = mk.rq * float(noise_size[j_noise])
            is_buy = bool(noise_buy[j_noise])
            j_noise += 1
            if is_buy:
                mk.buy(trader, size, now)
            else:
                t_amount = int(size * WAD) * pool.reserve_t // pool.reserve_q
                mk.balances.setdefault(trader, 2 * t_amount)  # noise sellers hold enough to sell
                mk.sell(trader, t_amount, now)
        if k in acc_by_step:
            mk.buy(manip_wallets[n_wallet % len(manip_wallets)], acc_by_step[k], now)
            n_wallet += 1
        if extra_buy[k] > 0:
            if spec.kind == "campaign":
                trader = f"r{int(rng.integers(0, 200))}"
                retail_wallets.append(trader)
            elif whale and k >= PRE_STEPS:
                trader = "whale"
            else:
                trader = f"i{int(rng.integers(0, 100))}"
            mk.buy(trader, float(extra_buy[k]), now)
        if whale and k == PRE_STEPS + 14:
            mk.sell("whale", mk.balances.get("whale", 0), now)
        if spec.kind == "campaign":
            if k == pump_step:
                mk.buy(manip_wallets[0], budget_post * 0.6, now)
                spent += budget_post * 0.6
            elif k == pump_step + 1:
                mk.buy(manip_wallets[-1], budget_post * 0.4, now)
                spent += budget_post * 0.4
            if dump_start <= k < dump_start + dump_len:
                for wlt in manip_wallets:
                    bal = mk.balances.get(wlt, 0)
                    left = dump_start + dump_len - k
                    received += mk.sell(wlt, bal // left, now)
            if extra_sell_frac[k] > 0:
                for wlt in sorted(set(retail_wallets)):  # retail panic: sells part of what it bought
                    mk.sell(wlt, int(mk.balances.get(wlt, 0) * extra_sell_frac[k]), now)

    outcome = resolve(pool, t0, HORIZON)
    # observation: only what happened before t0
    members = sorted({a for ts, a, _ in posts if ts < t0})
    market = MarketObservation(
        t_start=t_start, t0=t0, reserve_q_start=int(rq0 * WAD), reserve_t_start=int(rq0 / price0 * WAD),
        swaps=mk.swaps,
        holder_balances={a: b for a, b in _balances_at_t0(mk, spec.kind).items() if b > 0},
    )
    social = SocialObservation(
        posts=sorted((PostRecord(ts, world.ids[a], txt) for ts, a, txt in posts if ts < t0), key=lambda x: x.timestamp),
        accounts={world.ids[a]: world.account(a) for a in members},
        follows=world.follows_among(members),
    )
    obs = EpisodeObservation(spec.episode_id, ticker, t0, HORIZON, market, social)
    profit = (received - spent) / rq0 - account_cost if spec.kind == "campaign" else 0.0
    at_risk = spent / rq0 + account_cost if spec.kind == "campaign" else 0.0
    return SimulatedEpisode(spec, obs, outcome, profit, whale, pump_time, at_risk)


def _balances_at_t0(mk: _Market, kind: str) -> dict[str, int]:
    """Holder balances as of t0, rebuilt from the observable swaps (what Transfer logs give on chain)."""
    bal = {a: b for a, b in mk.balances.items() if a.startswith("h")}
    for s in mk.swaps:
        bal[s.trader] = bal.get(s.trader, 0) + (s.amount_t if s.is_buy else -s.amount_t)
    return bal


def spec_dict(spec: EpisodeSpec) -> dict:
    d = asdict(spec)
    d["params"] = asdict(spec.params) if spec.params else None
    return d
