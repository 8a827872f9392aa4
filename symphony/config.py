"""The one configuration model of Symphony, composed of the sections each layer owns.

Why composition: each layer defines (and validates) its own section next to the code that uses it; this model
only puts them together. Precedence, lowest first: the settings classes' defaults, a TOML/JSON file,
`SYMPHONY_<SECTION>__<FIELD>[__<FIELD>…]` environment variables (e.g. `SYMPHONY_ECHO__GRPO__LEARNING_RATE`),
then command-line options. Nested sections merge field by field, so a variable that sets one field of a
section keeps the file's other fields.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from agents.profile import AgentProfile
from agents.requester import RequesterSettings
from agents.settings import LLMSettings
from chain.settings import ChainSettings
from core.errors import ConfigError
from echo_sync.settings import EchoSettings
from explorer.settings import ExplorerSettings
from marl_detector.committee.requester import CommitteeSettings
from marl_detector.settings import DetectorSettings
from scheduler.settings import SchedulerSettings
from symphony.demo_settings import DemoSettings


class SymphonyConfig(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SYMPHONY_", env_nested_delimiter="__", extra="forbid")

    chain: ChainSettings = Field(default_factory=ChainSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)  # the requester's planner model (agents carry their own in `agent.llm`)
    requester: RequesterSettings = Field(default_factory=RequesterSettings)
    agent: AgentProfile | None = None  # only for `symphony agent run`
    echo: EchoSettings = Field(default_factory=EchoSettings)
    detector: DetectorSettings = Field(default_factory=DetectorSettings)
    committee: CommitteeSettings = Field(default_factory=CommitteeSettings)  # `symphony detect ask`: detection requests to detector agents
    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)
    demo: DemoSettings = Field(default_factory=DemoSettings)
    explorer: ExplorerSettings = Field(default_factory=ExplorerSettings)  # `symphony explorer`: the read-only network page


SECTIONS = tuple(SymphonyConfig.model_fields)


def _read_file(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise ConfigError(f"configuration file not found: {path}")
    try:
        text = path.read_text()
        data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except OSError as exc:
        raise ConfigError(f"cannot read configuration file {path}: {exc.strerror or exc}") from None
    except RecursionError:
        raise ConfigError(f"cannot parse configuration file {path}: nested too deeply") from None
    except ValueError as exc:  # the parsers' errors, UnicodeDecodeError, and int() past the digit limit
        raise ConfigError(f"cannot parse configuration file {path}: {_one_line(str(exc))}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"configuration file {path} must hold a table of sections")
    unknown = [key for key in data if key not in SECTIONS]
    if unknown:  # checked here: SymphonyConfig(**data) would take keys such as `_env_file` as settings options
        raise ConfigError(f"unknown configuration section {_quoted(unknown[0])} in {path} "
                          f"(sections: {', '.join(SECTIONS)})")
    return data


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _quoted(part: object) -> str:
    """A key as the error line shows it: as is when printable, else escaped (a key with a line break must not
    split the one-line error)."""
    text = str(part)
    return text if text.isprintable() and text.strip() == text and text else repr(text)


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """`top` over `base`, recursing into nested tables (a field set in `top` replaces only that field)."""
    out = dict(base)
    for key, value in top.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _from_environment() -> dict[str, Any]:
    """Only the fields the SYMPHONY_* variables set, nested like the model."""
    try:
        env = SymphonyConfig()
    except SettingsError as exc:  # a SYMPHONY_<SECTION> or list-valued variable that is not JSON
        raise ConfigError(f"invalid SYMPHONY_* environment variable: {_one_line(str(exc))} (such variables hold JSON)") from None
    return {name: section.model_dump(exclude_unset=True) for name in SECTIONS
            if (section := getattr(env, name)) is not None and section.model_fields_set}


def _error_line(exc: ValidationError, source: str) -> ConfigError:
    first = exc.errors()[0]
    where = ".".join(_quoted(p) for p in first["loc"]) or "configuration"
    return ConfigError(f"invalid configuration at {where} ({source}): {_one_line(first['msg'])}")


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> SymphonyConfig:
    """Defaults < file < environment < `overrides` (command-line options), as one validated SymphonyConfig."""
    data = _read_file(Path(path)) if path else {}
    try:
        env = _from_environment()
    except ValidationError as exc:
        raise _error_line(exc, "environment") from None
    try:
        return SymphonyConfig(**_merge(_merge(data, env), overrides or {}))
    except ValidationError as exc:
        raise _error_line(exc, f"file {path}" if path else "options") from None
