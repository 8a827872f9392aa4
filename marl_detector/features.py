"""Feature extraction from an `EpisodeObservation`: three modalities, one fixed-length float32 vector.

Why hand-built scalar features next to the raw text embedding: the detector must learn from ~100k episodes
on 2 CPU cores and be auditable on chain (its hash is committed), so it consumes a fixed vector:
- text (semantic): the mean all-MiniLM-L6-v2 embedding of the posts plus near-duplicate statistics (shill
  campaigns repeat themselves; organic crowds do not);
- social (graph + timing): coordination (follow-graph density, reciprocity, clustering among the posters),
  burstiness, account age and follower counts, reach, and the hour/weekday of the commit;
- market: returns, volume spikes, buy pressure, buyer and holder concentration, all computed from swap
  records as read from Swap/Sync and Transfer logs.
`MODALITIES` maps each modality to its column slice, for the per-modality ablation in the benchmark.
Only data before `t0` is used (`EpisodeObservation.validate` refuses anything later).
"""

from __future__ import annotations

import math

import numpy as np

from marl_detector.embed import EMBED_DIM, TextEmbedder
from marl_detector.observation import EpisodeObservation
from marl_detector.text import canonical_text

HOUR = 3600
TEXT_SCALARS = ("text_mean_pair_sim", "text_near_dup_share", "text_unique_share")
SOCIAL_NAMES = (
    "log_posts", "log_accounts", "posts_per_account", "share_posts_last_30m", "share_posts_last_1h",
    "interpost_burstiness", "max_step_share", "mean_log_age", "min_log_age", "share_age_lt_30d",
    "share_age_lt_90d", "mean_log_followers", "share_followers_lt_200", "mean_log_follow_ratio",
    "follow_density", "reciprocity", "mean_clustering", "largest_component_share", "max_in_degree_share",
    "log_reach", "hour_sin", "hour_cos", "is_weekend",
)
MARKET_NAMES = (
    "ret_4h", "ret_1h", "ret_30m", "max_step_ret", "realized_vol", "log_volume", "vol_ratio_1h",
    "vol_ratio_30m", "buy_share_all", "buy_share_1h", "log_buyers_1h", "repeat_buyer_share",
    "buyer_hhi_1h", "holder_hhi", "holder_top5_share", "trade_rate_ratio_1h",
)
FEATURE_NAMES: tuple[str, ...] = (
    tuple(f"emb_{i}" for i in range(EMBED_DIM)) + TEXT_SCALARS + SOCIAL_NAMES + MARKET_NAMES
)
N_FEATURES = len(FEATURE_NAMES)
_T = EMBED_DIM + len(TEXT_SCALARS)
_S = _T + len(SOCIAL_NAMES)
MODALITIES: dict[str, slice] = {"text": slice(0, _T), "social": slice(_T, _S), "market": slice(_S, N_FEATURES)}


def _text_features(obs: EpisodeObservation, embedder: TextEmbedder) -> np.ndarray:
    out = np.zeros(_T, dtype=np.float32)
    texts = [canonical_text(p.text, obs.ticker) for p in obs.social.posts]
    if not texts:
        return out
    emb = embedder.embed(texts)
    out[:EMBED_DIM] = emb.mean(axis=0)
    n = len(texts)
    if n >= 2:
        sims = emb @ emb.T
        off = sims[~np.eye(n, dtype=bool)].reshape(n, n - 1)
        out[EMBED_DIM] = float(off.mean())
        out[EMBED_DIM + 1] = float((off.max(axis=1) > 0.9).mean())
    out[EMBED_DIM + 2] = len(set(texts)) / n
    return out


def _social_features(obs: EpisodeObservation) -> np.ndarray:
    s = obs.social
    f = dict.fromkeys(SOCIAL_NAMES, 0.0)
    hour = (obs.t0 % 86400) / HOUR
    f["hour_sin"], f["hour_cos"] = math.sin(hour / 24 * 2 * math.pi), math.cos(hour / 24 * 2 * math.pi)
    f["is_weekend"] = float(((obs.t0 // 86400) + 3) % 7 >= 5)  # 1970-01-01 was a Thursday
    posts = s.posts
    if posts:
        ts = np.array([p.timestamp for p in posts], dtype=float)
        authors = [p.author for p in posts]
        uniq = sorted(set(authors))
        n, m = len(posts), len(uniq)
        f["log_posts"], f["log_accounts"], f["posts_per_account"] = math.log1p(n), math.log1p(m), n / m
        f["share_posts_last_30m"] = float((ts >= obs.t0 - 1800).mean())
        f["share_posts_last_1h"] = float((ts >= obs.t0 - HOUR).mean())
        if n >= 3:
            gaps = np.diff(np.sort(ts))
            mu, sd = gaps.mean(), gaps.std()
            f["interpost_burstiness"] = float((sd - mu) / (sd + mu)) if sd + mu > 0 else 0.0
        steps = ((ts - obs.market.t_start) // 300).astype(int)
        f["max_step_share"] = float(np.bincount(steps - steps.min()).max() / n)
        acc = [s.accounts[a] for a in uniq]
        ages = np.array([max(a.age_days, 0.0) for a in acc])
        fol = np.array([max(a.followers, 0) for a in acc], dtype=float)
        fwg = np.array([max(a.following, 0) for a in acc], dtype=float)
        f["mean_log_age"], f["min_log_age"] = float(np.log1p(ages).mean()), float(np.log1p(ages).min())
        f["share_age_lt_30d"], f["share_age_lt_90d"] = float((ages < 30).mean()), float((ages < 90).mean())
        f["mean_log_followers"] = float(np.log1p(fol).mean())
        f["share_followers_lt_200"] = float((fol < 200).mean())
        f["mean_log_follow_ratio"] = float((np.log1p(fwg) - np.log1p(fol)).mean())
        by_author = dict(zip(uniq, range(m)))
        posts_per = np.bincount([by_author[a] for a in authors], minlength=m)
        f["log_reach"] = float(np.log1p((np.log1p(fol) * posts_per).sum()))
        if m >= 2:
            adj = np.zeros((m, m), dtype=np.float32)
            for u, v in s.follows:
                if u in by_author and v in by_author and u != v:
                    adj[by_author[u], by_author[v]] = 1.0
            n_edges = adj.sum()
            f["follow_density"] = float(n_edges / (m * (m - 1)))
            f["reciprocity"] = float((adj * adj.T).sum() / n_edges) if n_edges else 0.0
            und = np.maximum(adj, adj.T)
            deg = und.sum(axis=1)
            tri = np.diag(und @ und @ und) / 2
            poss = deg * (deg - 1) / 2
            f["mean_clustering"] = float(np.where(poss > 0, tri / np.maximum(poss, 1), 0).mean())
            f["largest_component_share"] = _largest_component(und) / m
            f["max_in_degree_share"] = float(adj.sum(axis=0).max() / (m - 1))
    return np.array([f[k] for k in SOCIAL_NAMES], dtype=np.float32)


def _largest_component(und: np.ndarray) -> float:
    m = len(und)
    seen = np.zeros(m, dtype=bool)
    best = 0
    for i in range(m):
        if seen[i]:
            continue
        stack, size = [i], 0
        seen[i] = True
        while stack:
            u = stack.pop()
            size += 1
            for v in np.nonzero(und[u] > 0)[0]:
                if not seen[v]:
                    seen[v] = True
                    stack.append(int(v))
        best = max(best, size)
    return float(best)


def _hhi(values: np.ndarray) -> float:
    tot = values.sum()
    return float(((values / tot) ** 2).sum()) if tot > 0 else 0.0


def _market_features(obs: EpisodeObservation) -> np.ndarray:
    m = obs.market
    f = dict.fromkeys(MARKET_NAMES, 0.0)
    p_start = m.reserve_q_start / m.reserve_t_start
    swaps = m.swaps
    if swaps:
        ts = np.array([s.timestamp for s in swaps], dtype=float)
        price = np.array([s.reserve_q / s.reserve_t for s in swaps])
        q = np.array([s.amount_q for s in swaps], dtype=float) / 1e18
        buy = np.array([s.is_buy for s in swaps])
        q_norm = q / (m.reserve_q_start / 1e18)  # volume in units of the starting quote reserve

        def price_at(t: float) -> float:
            i = int(np.searchsorted(ts, t, side="left")) - 1
            return float(price[i]) if i >= 0 else p_start

        p_end = float(price[-1])
        f["ret_4h"] = math.log(p_end / p_start)
        f["ret_1h"] = math.log(p_end / price_at(obs.t0 - HOUR))
        f["ret_30m"] = math.log(p_end / price_at(obs.t0 - 1800))
        step_prices = np.array([price_at(t) for t in range(m.t_start + 300, obs.t0 + 1, 300)] or [p_start])
        step_ret = np.diff(np.log(np.concatenate([[p_start], step_prices])))
        f["max_step_ret"] = float(step_ret.max())
        f["realized_vol"] = float(step_ret.std())
        f["log_volume"] = math.log1p(q_norm.sum() * 100)
        span_h = max((obs.t0 - m.t_start) / HOUR, 1.0)
        last1 = ts >= obs.t0 - HOUR
        last30 = ts >= obs.t0 - 1800
        base_rate = q_norm[~last1].sum() / max(span_h - 1, 1.0) + 1e-4
        f["vol_ratio_1h"] = math.log((q_norm[last1].sum() + 1e-4) / base_rate)
        f["vol_ratio_30m"] = math.log((2 * q_norm[last30].sum() + 1e-4) / base_rate)
        f["buy_share_all"] = float(q[buy].sum() / q.sum()) if q.sum() > 0 else 0.5
        f["buy_share_1h"] = float(q[buy & last1].sum() / q[last1].sum()) if q[last1].sum() > 0 else 0.5
        buyers_1h = [s.trader for s, b, l in zip(swaps, buy, last1) if b and l]
        f["log_buyers_1h"] = math.log1p(len(set(buyers_1h)))
        all_buyers = [s.trader for s, b in zip(swaps, buy) if b]
        f["repeat_buyer_share"] = 1 - len(set(all_buyers)) / len(all_buyers) if all_buyers else 0.0
        per: dict[str, float] = {}
        for s, b, l, qq in zip(swaps, buy, last1, q):
            if b and l:
                per[s.trader] = per.get(s.trader, 0.0) + qq
        f["buyer_hhi_1h"] = _hhi(np.array(list(per.values()))) if per else 0.0
        n_before = (~last1).sum() / max(span_h - 1, 1.0)
        f["trade_rate_ratio_1h"] = math.log((last1.sum() + 1) / (n_before + 1))
    if m.holder_balances:
        bal = np.array(sorted(m.holder_balances.values(), reverse=True), dtype=float)
        f["holder_hhi"] = _hhi(bal)
        f["holder_top5_share"] = float(bal[:5].sum() / bal.sum()) if bal.sum() > 0 else 0.0
    return np.array([f[k] for k in MARKET_NAMES], dtype=np.float32)


def extract_features(obs: EpisodeObservation, embedder: TextEmbedder, validate: bool = True) -> np.ndarray:
    """The detector's input vector (float32, length `N_FEATURES`, names in `FEATURE_NAMES`)."""
    if validate:
        obs.validate()
    return np.concatenate([_text_features(obs, embedder), _social_features(obs), _market_features(obs)])
