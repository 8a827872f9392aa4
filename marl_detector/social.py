"""The social world: organic users, news outlets, influencers for hire and sybil clusters, as a follow graph.

Why a persistent world graph (built once per seed with networkx) instead of per-episode random accounts:
coordination shows up as *structure* — sybil accounts are young, have few followers and follow each other
densely — while rented aged accounts and influencers look organic on their own. Episodes sample their
posters from this world and the detector only sees the follow edges among those posters (`follows`), the
same thing a platform API or crawler would give the live detector.

Sybil account ages come from the real campaign cadence (marl_detector/calibration.py): a group's accounts are
about as old as a few of its inter-campaign gaps. Clusters are partitioned across dataset splits, so no sybil
account of the test split ever appears in training.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np

from marl_detector.calibration import TimingCalibration
from marl_detector.observation import AccountInfo

ORGANIC, NEWS, INFLUENCER, SYBIL = 0, 1, 2, 3
SPLITS = ("train", "val", "test")


@dataclass
class World:
    ids: list[str]
    kind: np.ndarray  # ORGANIC / NEWS / INFLUENCER / SYBIL
    age_days: np.ndarray
    followers: np.ndarray
    following: np.ndarray
    out_edges: list[set[int]]  # follower -> followees
    clusters: list[np.ndarray]  # account indices of each sybil cluster
    cluster_split: list[str]
    organic: np.ndarray
    organic_weight: np.ndarray  # posting activity (heavy-tailed)
    news: np.ndarray
    influencers: np.ndarray
    communities: list[np.ndarray]

    def organic_cdf(self) -> np.ndarray:
        if not hasattr(self, "_organic_cdf"):
            self._organic_cdf = np.cumsum(self.organic_weight)
        return self._organic_cdf

    def account(self, i: int) -> AccountInfo:
        return AccountInfo(self.ids[i], float(self.age_days[i]), int(self.followers[i]), int(self.following[i]))

    def follows_among(self, members: list[int]) -> list[tuple[str, str]]:
        s = set(members)
        return [(self.ids[u], self.ids[v]) for u in s for v in self.out_edges[u] & s]

    def clusters_for(self, split: str) -> list[int]:
        return [c for c, sp in enumerate(self.cluster_split) if sp == split]


def build_world(seed: int, calib: TimingCalibration, n_organic: int = 3000, n_news: int = 40,
                n_influencers: int = 60, n_clusters: int = 60, n_communities: int = 40) -> World:
    """A reproducible world for `seed` (about 4,000 accounts; takes well under a second)."""
    rng = np.random.default_rng(seed)
    ba = nx.barabasi_albert_graph(n_organic, 3, seed=int(rng.integers(2**31)))
    n_sybil_total = 0
    sizes = rng.integers(8, 26, size=n_clusters)
    n_sybil_total = int(sizes.sum())
    n = n_organic + n_news + n_influencers + n_sybil_total
    kind = np.zeros(n, dtype=np.int8)
    age = np.zeros(n)
    followers = np.zeros(n, dtype=np.int64)
    following = np.zeros(n, dtype=np.int64)
    out_edges: list[set[int]] = [set() for _ in range(n)]

    organic = np.arange(n_organic)
    for u, v in ba.edges():  # BA edges as follows in a random direction (sometimes mutual)
        out_edges[u].add(v) if rng.random() < 0.5 else out_edges[v].add(u)
        if rng.random() < 0.3:
            out_edges[u].add(v)
            out_edges[v].add(u)
    deg = np.array([ba.degree(i) for i in organic], dtype=float)
    age[organic] = rng.lognormal(np.log(700), 0.8, n_organic)
    followers[organic] = (deg * rng.lognormal(np.log(25), 0.9, n_organic)).astype(np.int64)
    following[organic] = (deg * rng.lognormal(np.log(20), 0.6, n_organic)).astype(np.int64)

    news = np.arange(n_organic, n_organic + n_news)
    kind[news] = NEWS
    age[news] = rng.uniform(1500, 4000, n_news)
    followers[news] = rng.lognormal(np.log(120_000), 0.8, n_news).astype(np.int64)
    following[news] = rng.integers(50, 800, n_news)
    for i in news:
        for j in rng.choice(organic, 60, replace=False):
            out_edges[int(j)].add(int(i))

    infl = np.arange(news[-1] + 1, news[-1] + 1 + n_influencers)
    kind[infl] = INFLUENCER
    age[infl] = rng.uniform(300, 2500, n_influencers)
    followers[infl] = rng.lognormal(np.log(40_000), 0.9, n_influencers).astype(np.int64)
    following[infl] = rng.integers(100, 3000, n_influencers)
    for i in infl:
        for j in rng.choice(organic, 40, replace=False):
            out_edges[int(j)].add(int(i))

    # a minority of organic users are new to crypto (young accounts are not proof of a sybil)
    young = rng.random(n_organic) < 0.08
    age[organic[young]] = rng.uniform(2, 90, young.sum())
    # organic communities: fans of a project follow each other densely (coordination is not proof either)
    communities: list[np.ndarray] = []
    for _ in range(n_communities):
        members = rng.choice(organic, int(rng.integers(15, 41)), replace=False)
        dens = rng.uniform(0.2, 0.6)
        for u in members:
            for v in members:
                if u != v and rng.random() < dens:
                    out_edges[int(u)].add(int(v))
        communities.append(members)

    clusters: list[np.ndarray] = []
    start = int(infl[-1]) + 1
    for size in sizes:
        members = np.arange(start, start + int(size))
        start += int(size)
        kind[members] = SYBIL
        if rng.random() < 0.5:  # freshly created by the group: as old as a few campaign gaps
            created = calib.sample_gap_days(rng) * rng.uniform(1.0, 4.0) + rng.uniform(1, 10)
            age[members] = created + rng.uniform(0, 3, len(members))
            followers[members] = rng.integers(3, 150, len(members))
        else:  # bought aged accounts: organic-looking age and audience
            age[members] = rng.lognormal(np.log(500), 0.6, len(members))
            followers[members] = rng.lognormal(np.log(300), 1.0, len(members)).astype(np.int64)
        following[members] = rng.integers(40, 400, len(members))
        dens = rng.uniform(0.1, 0.8)
        for u in members:
            for v in members:
                if u != v and rng.random() < dens:
                    out_edges[int(u)].add(int(v))
            for j in rng.choice(organic, 3, replace=False):
                out_edges[int(u)].add(int(j))
        clusters.append(members)
    n_train, n_val = int(0.6 * n_clusters), int(0.2 * n_clusters)
    split = ["train"] * n_train + ["val"] * n_val + ["test"] * (n_clusters - n_train - n_val)
    weight = rng.pareto(1.5, n_organic) + 0.1
    return World(
        ids=[f"acct{seed % 100000}_{i}" for i in range(n)],
        kind=kind, age_days=age, followers=followers, following=following, out_edges=out_edges,
        clusters=clusters, cluster_split=split, organic=organic, organic_weight=weight / weight.sum(),
        news=news, influencers=infl, communities=communities,
    )
