"""What a detector sees: plain dataclasses, the single input of `features.extract_features`.

Why plain dataclasses with chain-native fields: the same feature function must serve the simulator (which
builds these objects directly) and the live detector (which builds them from chain logs and a post feed).
Field by field, where the live side gets each value:
- `SwapRecord`: one Uniswap-V2-style `Swap` event plus the reserves of the `Sync`/state after it
  (`timestamp` = block timestamp, `trader` = the swap's `to`/sender address, `is_buy` = Q in / T out,
  `amount_q`, `amount_t` in raw 18-decimal units, `reserve_q`, `reserve_t` after the swap).
- `MarketObservation.holder_balances`: T balances at `t0` reconstructed from `Transfer` events
  (address -> raw amount, pool and zero address excluded); may be empty when unknown.
- `PostRecord` / `AccountInfo` / `follows`: the off-chain social feed (the simulator's social graph or a
  real platform's API): account age in days, follower counts, follow edges among the accounts that posted.
Everything refers to the observed window `[t_start, t0)`: nothing after the commit time `t0` may appear.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.errors import SymphonyError


@dataclass(frozen=True)
class SwapRecord:
    timestamp: int
    trader: str
    is_buy: bool  # True: quote token Q in, meme token T out
    amount_q: int
    amount_t: int
    reserve_q: int  # reserves right after this swap
    reserve_t: int


@dataclass
class MarketObservation:
    t_start: int
    t0: int
    reserve_q_start: int  # reserves at t_start (before the first observed swap)
    reserve_t_start: int
    swaps: list[SwapRecord] = field(default_factory=list)
    holder_balances: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class PostRecord:
    timestamp: int
    author: str
    text: str


@dataclass(frozen=True)
class AccountInfo:
    account_id: str
    age_days: float
    followers: int
    following: int


@dataclass
class SocialObservation:
    posts: list[PostRecord] = field(default_factory=list)
    accounts: dict[str, AccountInfo] = field(default_factory=dict)
    follows: list[tuple[str, str]] = field(default_factory=list)  # (follower, followee) among posting accounts


@dataclass
class EpisodeObservation:
    """One prediction window: the token, the commit time `t0`, the horizon `H`, and the data before `t0`."""

    episode_id: str
    ticker: str
    t0: int
    horizon: int
    market: MarketObservation
    social: SocialObservation

    def validate(self) -> None:
        """Refuse observations that leak the future or are inconsistent (a clear error, not a silent feature)."""
        m = self.market
        if not m.t_start < self.t0 or m.t0 != self.t0:
            raise SymphonyError(f"episode {self.episode_id}: bad window [{m.t_start}, {m.t0}) for t0={self.t0}")
        if m.reserve_q_start <= 0 or m.reserve_t_start <= 0:
            raise SymphonyError(f"episode {self.episode_id}: reserves must be positive")
        for s in m.swaps:
            if not m.t_start <= s.timestamp < self.t0:
                raise SymphonyError(f"episode {self.episode_id}: swap at {s.timestamp} outside the observed window")
        for p in self.social.posts:
            if p.timestamp >= self.t0:
                raise SymphonyError(f"episode {self.episode_id}: post at {p.timestamp} is after t0={self.t0}")
            if p.author not in self.social.accounts:
                raise SymphonyError(f"episode {self.episode_id}: post author {p.author!r} has no AccountInfo")

    def truncated(self, cutoff: int) -> "EpisodeObservation":
        """The same episode as seen at an earlier commit time `cutoff` (for detection-latency curves)."""
        if not self.market.t_start < cutoff <= self.t0:
            raise SymphonyError(f"cutoff {cutoff} outside ({self.market.t_start}, {self.t0}]")
        m = self.market
        swaps = [s for s in m.swaps if s.timestamp < cutoff]
        bal = dict(m.holder_balances)
        for s in m.swaps[len(swaps):]:  # undo the swaps after the cutoff
            bal[s.trader] = bal.get(s.trader, 0) - (s.amount_t if s.is_buy else -s.amount_t)
        posts = [p for p in self.social.posts if p.timestamp < cutoff]
        authors = {p.author for p in posts}
        social = SocialObservation(
            posts=posts, accounts={a: i for a, i in self.social.accounts.items() if a in authors},
            follows=[(u, v) for u, v in self.social.follows if u in authors and v in authors],
        )
        market = MarketObservation(m.t_start, cutoff, m.reserve_q_start, m.reserve_t_start, swaps,
                                   {a: b for a, b in bal.items() if b > 0})
        return EpisodeObservation(self.episode_id, self.ticker, cutoff, self.horizon, market, social)
