"""The `detector` section of Symphony's configuration: every Hide-and-Shill command reads its part of it.

Why one section with a part per command: `detect generate`, `train`, `market`, `run` and `agent` share
files (the dataset feeds training, the trained model and the post feed feed the live detector and the detector
agents), so their defaults must agree, and `SYMPHONY_DETECTOR__<PART>__<FIELD>` variables override any of them.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from marl_detector.onchain.settings import LiveDetectorSettings, default_detector

DEFAULT_CAPABILITY = ("pump-and-dump detection from on-chain trades, the social graph of posting accounts and the "
                      "text of their posts")


class DatasetSettings(BaseModel):
    """`detect generate`: simulated discourse episodes written as a Parquet dataset."""

    model_config = ConfigDict(extra="forbid")

    out: Path = Field(Path("out/detector/dataset"), description="dataset folder")
    episodes: int = Field(100_000, ge=10, description="episodes over all splits")
    seed: int = Field(7, description="episode seed")
    world_seed: int = Field(1, description="seed of the simulated social world (accounts and clusters)")
    workers: int = Field(1, ge=1, description="processes (each ~10 ms per episode)")


class TrainingSettings(BaseModel):
    """`detect train`: base GRPO training, then co-evolution rounds against adapted manipulators."""

    model_config = ConfigDict(extra="forbid")

    data: Path = Field(Path("out/detector/dataset"), description="dataset folder written by `detect generate`")
    out: Path = Field(Path("out/detector/model"), description="model folder")
    iterations: int = Field(400, ge=1, description="base GRPO iterations")
    finetune_iterations: int = Field(300, ge=0, description="GRPO iterations per co-evolution round")
    groups_per_step: int = Field(512, ge=1, description="episodes per GRPO iteration (each episode is one group)")
    group_size: int = Field(16, ge=2, description="sampled decisions per episode (the GRPO group)")
    rounds: int = Field(1, ge=0, description="co-evolution rounds (1: the best on held-out-style validation, "
                                            "docs/hideshill.md)")
    manipulator_steps: int = Field(15, ge=1, description="optimisation steps of each adapted manipulator")
    text_swap_copies: int = Field(3, ge=0, description="copies of each adapted campaign with an organic episode's text "
                                                      "features, so it must be flagged from social graph and market")
    base_text_swap: bool = Field(False, description="also one text-swapped copy of each training campaign in base training")
    holdout_style: str | None = Field(None, description="a training style left out of the run and used to validate "
                                                        "robustness on an unseen style (recipe selection)")
    threads: int = Field(1, ge=1, description="torch threads")
    seed: int = 0


class MarketSettings(BaseModel):
    """`detect market`: simulated episodes played onto a local chain as real swaps, their posts into a feed."""

    model_config = ConfigDict(extra="forbid")

    posts: Path | None = Field(None, description="JSONL feed the episodes' posts are appended to")
    episodes: int = Field(3, ge=1, description="how many episodes to play")
    kinds: tuple[str, ...] = Field(("campaign", "news", "quiet"), min_length=1, description="episode kinds, cycled")
    seed: int = Field(0, description="simulation seed")
    speedup: float = Field(0.0, ge=0.0, description="chain seconds per wall second (0: as fast as possible)")
    tail_s: int = Field(14_400, ge=0, description="chain seconds without trades after the last episode (windows opened "
                                                  "during it can settle)")


class DetectorAgentSettings(BaseModel):
    """`detect agent`: a detector registered on the capability ledger, answering detection beacons."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field("detector", min_length=1, max_length=64, description="agent name on the ledger")
    capability: str = Field(DEFAULT_CAPABILITY, min_length=1, description="declared capability (embedded into its vector)")
    detector_path: Path | None = Field(default_factory=default_detector,
                                       description="trained detector folder, or `rule` (default: the shipped detector)")
    posts_path: Path | None = Field(None, description="JSONL social feed the detector reads")
    reveal_after_s: int | None = Field(None, ge=0, description="reveal own log entries this long after committing (None: H/2)")
    keeper_interval_s: float = Field(1.0, gt=0, description="seconds between two passes of the reveal/resolve keeper")
    state_dir: Path | None = Field(None, description="worker state and unrevealed salts (None: the agent profile's default)")
    seconds: float = Field(0.0, ge=0.0, description="stop after this many seconds (0: until interrupted)")


class DemoSettings(BaseModel):
    """`detect demo`: market, organic traffic, news and a campaign on an embedded anvil, watched by the live detector."""

    model_config = ConfigDict(extra="forbid")

    kinds: tuple[str, ...] = Field(("quiet", "organic_hype", "news", "campaign"), min_length=1,
                                   description="one pool per scenario, played in this order")
    style: str = Field("whale_alert", description="the campaign's style (whale_alert and community_meme are held out of training)")
    seed: int = Field(0, description="first seed tried per scenario (each takes the first that shows its scenario)")
    world_seed: int = Field(1, description="seed of the simulated social world (the dataset's default)")
    out: Path = Field(Path("out/detector/demo"), description="folder for the PNG, the post feed, the manifest and the salts")
    detector_path: Path | None = Field(default_factory=default_detector,
                                       description="trained detector folder, or `rule` (default: the shipped detector)")


class DetectorSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dataset: DatasetSettings = DatasetSettings()
    training: TrainingSettings = TrainingSettings()
    market: MarketSettings = MarketSettings()
    live: LiveDetectorSettings = LiveDetectorSettings()
    agent: DetectorAgentSettings = DetectorAgentSettings()
    demo: DemoSettings = DemoSettings()
