"""The one configuration model of Symphony, composed of the sections each layer owns.

Why composition: each layer defines (and validates) its own section next to the code that uses it; this model
only puts them together and loads them from a TOML/JSON file, with `SYMPHONY_<SECTION>__<FIELD>` environment
variables taking precedence (e.g. `SYMPHONY_CHAIN__RPC_URL`).
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from agents.profile import AgentProfile
from agents.requester import RequesterSettings
from agents.settings import LLMSettings
from core.errors import ConfigError
from chain.settings import ChainSettings
from echo_sync.settings import EchoSettings
from marl_detector.committee.requester import CommitteeSettings
from marl_detector.onchain.settings import LiveDetectorSettings
from scheduler.settings import SchedulerSettings


class SymphonyConfig(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SYMPHONY_", env_nested_delimiter="__", extra="forbid")

    chain: ChainSettings = ChainSettings()
    llm: LLMSettings = LLMSettings()  # the requester's planner model (agents carry their own in `agent.llm`)
    requester: RequesterSettings = RequesterSettings()
    agent: AgentProfile | None = None  # only for `symphony agent run`
    echo: EchoSettings = EchoSettings()
    detector: LiveDetectorSettings = LiveDetectorSettings()
    committee: CommitteeSettings = CommitteeSettings()  # `symphony detect ask`: detection requests to detector agents
    scheduler: SchedulerSettings = SchedulerSettings()


def _read_file(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise ConfigError(f"configuration file not found: {path}")
    try:
        if path.suffix == ".toml":
            return tomllib.loads(path.read_text())
        return json.loads(path.read_text())
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot parse configuration file {path}: {exc}") from None


def load_config(path: str | Path | None = None, **overrides: Any) -> SymphonyConfig:
    """File values, then environment variables, then explicit overrides (e.g. from CLI options)."""
    data = _read_file(Path(path)) if path else {}
    for section, values in overrides.items():
        data.setdefault(section, {}).update({k: v for k, v in values.items() if v is not None})
    try:
        # Environment variables beat file values: pydantic-settings gives init kwargs priority, so merge by hand.
        from_env = SymphonyConfig()
        merged: dict[str, Any] = {}
        for name in SymphonyConfig.model_fields:
            section = getattr(from_env, name)
            env_values = section.model_dump(exclude_unset=True) if section is not None else {}
            if name in data or env_values:
                merged[name] = {**data.get(name, {}), **env_values}
        for section, values in overrides.items():
            merged.setdefault(section, {}).update({k: v for k, v in values.items() if v is not None})
        return SymphonyConfig(**merged)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"invalid configuration at {where}: {first['msg']}") from None
