"""Constant-product AMM with a TWAP oracle, in exact integer arithmetic (docs/hideshill_protocol.md).

Why integers and not floats: the on-chain pool (contracts/hideshill/) and this simulator must produce the
*same* prices and therefore the *same* outcome labels; a parity test compares them bit for bit. Every
operation here is the Solidity operation on uint256 (floor division on non-negative integers).

Conventions shared with the contract (the protocol leaves these edge cases open; this file fixes them):
- A pool is created with its first liquidity at time `now`: `cum = 0`, `tLast = now`, and one observation
  `(now, 0)` is written, so `cumulativeAt(t)` is defined for every `t >= creation time`.
- `_update(now)` runs before every reserve change: if `now > tLast`, `cum += p_before * (now - tLast)`,
  `tLast = now`, and an observation is appended (so at most one per timestamp/block; a second swap in the
  same block changes the price but not `cum`). The history is append-only, never truncated (the v1 contract's
  1024-slot ring let dust swaps push a window out of the oracle).
- `cumulativeAt(t)` for `t` before the pool's creation raises `HistoryUnavailable`
  (the contract reverts); `t` at or after `tLast` extrapolates with the current spot price.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field

from core.errors import SymphonyError

WAD = 10**18
FEE_NUMERATOR = 997
FEE_DENOMINATOR = 1000


class AMMError(SymphonyError):
    """Invalid AMM input (zero reserves, non-positive amounts, time going backwards)."""


class HistoryUnavailable(AMMError):
    """A cumulative price was asked for a time before the pool existed."""


def get_amount_out(amount_in: int, reserve_in: int, reserve_out: int) -> int:
    """Uniswap-V2 output for `amount_in` with the 0.3 % fee taken on the input side."""
    if amount_in <= 0:
        raise AMMError(f"swap amount must be positive, got {amount_in}")
    if reserve_in <= 0 or reserve_out <= 0:
        raise AMMError("pool has no liquidity")
    return (amount_in * FEE_NUMERATOR * reserve_out) // (reserve_in * FEE_DENOMINATOR + amount_in * FEE_NUMERATOR)


def spot_price(reserve_q: int, reserve_t: int) -> int:
    """Price of one meme token T in quote token Q, WAD-scaled: `rQ * 1e18 // rT`."""
    if reserve_t <= 0:
        raise AMMError("pool has no meme-token reserve")
    return reserve_q * WAD // reserve_t


@dataclass
class Pool:
    """One Q/T pool: reserves, the price accumulator and its (append-only) observation history."""

    reserve_q: int
    reserve_t: int
    cum: int
    t_last: int
    observations: list[tuple[int, int]] = field(default_factory=list)

    @classmethod
    def create(cls, reserve_q: int, reserve_t: int, now: int) -> "Pool":
        """A pool seeded with initial liquidity at `now` (writes the first observation `(now, 0)`)."""
        if reserve_q <= 0 or reserve_t <= 0:
            raise AMMError(f"initial reserves must be positive, got rQ={reserve_q} rT={reserve_t}")
        if now < 0:
            raise AMMError(f"timestamp must be non-negative, got {now}")
        pool = cls(reserve_q=reserve_q, reserve_t=reserve_t, cum=0, t_last=now)
        pool.observations.append((now, 0))
        return pool

    # --- state changes -------------------------------------------------------------------------------
    def price(self) -> int:
        """Current spot price (WAD)."""
        return spot_price(self.reserve_q, self.reserve_t)

    def _update(self, now: int) -> None:
        """Accumulate the pre-change price up to `now` and record an observation (once per timestamp)."""
        if now < self.t_last:
            raise AMMError(f"time went backwards: now={now} < tLast={self.t_last}")
        if now > self.t_last:
            self.cum += self.price() * (now - self.t_last)
            self.t_last = now
            self.observations.append((now, self.cum))

    def swap_q_for_t(self, amount_q: int, now: int) -> int:
        """Buy T with `amount_q` of Q at time `now`; returns the T received."""
        self._update(now)
        out = get_amount_out(amount_q, self.reserve_q, self.reserve_t)
        if out <= 0 or out >= self.reserve_t:
            raise AMMError(f"swap of {amount_q} Q yields no output or drains the pool")
        self.reserve_q += amount_q
        self.reserve_t -= out
        return out

    def swap_t_for_q(self, amount_t: int, now: int) -> int:
        """Sell `amount_t` of T for Q at time `now`; returns the Q received."""
        self._update(now)
        out = get_amount_out(amount_t, self.reserve_t, self.reserve_q)
        if out <= 0 or out >= self.reserve_q:
            raise AMMError(f"swap of {amount_t} T yields no output or drains the pool")
        self.reserve_t += amount_t
        self.reserve_q -= out
        return out

    # --- oracle --------------------------------------------------------------------------------------
    def oldest_observation_time(self) -> int:
        return self.observations[0][0]

    def cumulative_at(self, t: int) -> int:
        """`cum` at time `t`: interpolated between observations, extrapolated with the spot price after tLast.

        Between two observations the price is constant, so the interpolation is exact:
        `cum_i + (cum_{i+1} - cum_i) * (t - t_i) // (t_{i+1} - t_i)`.
        """
        if t < self.observations[0][0]:
            raise HistoryUnavailable(f"no observation at or before t={t} (oldest is {self.observations[0][0]})")
        if t >= self.t_last:
            return self.cum + self.price() * (t - self.t_last)
        times = [ts for ts, _ in self.observations]
        i = bisect_right(times, t) - 1  # times[i] <= t < times[i + 1]
        t_i, cum_i = self.observations[i]
        if t == t_i:
            return cum_i
        t_j, cum_j = self.observations[i + 1]
        return cum_i + (cum_j - cum_i) * (t - t_i) // (t_j - t_i)

    def twap(self, t0: int, t1: int) -> int:
        """Time-weighted average price over [t0, t1] (WAD): `(cumAt(t1) - cumAt(t0)) // (t1 - t0)`."""
        if t1 <= t0:
            raise AMMError(f"TWAP window must be non-empty, got [{t0}, {t1}]")
        return (self.cumulative_at(t1) - self.cumulative_at(t0)) // (t1 - t0)
