"""Command-line options as overrides of the configuration model, and the one way a command loads it.

Why: a setting has exactly one default, in its settings class next to the code that uses it. An option only
overrides that setting (argparse default None), so a value from the configuration file or from a
`SYMPHONY_<SECTION>__<FIELD>` variable stands unless the option is given, and the help text shows the model's
default and the variable that sets it. Options that are not settings (what to print, a question, a ticker)
are plain arguments of their command.
"""

from __future__ import annotations

import argparse
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from symphony.config import SymphonyConfig, load_config

OVERRIDE = "override:"


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The settings class behind a field annotation (`Model`, `Model | None`), or None for a plain value."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                return arg
    return None


def default_of(path: str) -> Any:
    """The model default of a dotted setting path, e.g. `echo.grpo.learning_rate` -> 1e-05."""
    model: type[BaseModel] | None = SymphonyConfig
    parts = path.split(".")
    for i, part in enumerate(parts):
        if model is None or part not in model.model_fields:
            raise KeyError(f"no setting {path!r}")
        field = model.model_fields[part]
        if i == len(parts) - 1:
            return None if field.is_required() else field.get_default(call_default_factory=True)
        model = _model_of(field.annotation)
    raise KeyError(path)


def env_name(path: str) -> str:
    return "SYMPHONY_" + "__".join(part.upper() for part in path.split("."))


def _shown(value: Any) -> str:
    if isinstance(value, tuple):
        value = ",".join(str(v) for v in value)
    if isinstance(value, Path):
        value = str(value)
    return str(value).replace("%", "%%")


def setting(parser: argparse.ArgumentParser, *flags: str, path: str, help: str, **kwargs: Any) -> None:
    """Add an option that overrides the setting at `path`; its help shows the default and the variable."""
    default = default_of(path)
    shown = "none" if default is None else _shown(default)
    if "action" not in kwargs:
        kwargs.setdefault("metavar", path.rsplit(".", 1)[-1].upper())
    suffix = f"({env_name(path)})" if "(none" in help else f"(default: {shown}; {env_name(path)})"
    parser.add_argument(*flags, dest=OVERRIDE + path, default=None, help=f"{help} {suffix}", **kwargs)


def flag(parser: argparse.ArgumentParser, *flags: str, path: str, help: str) -> None:
    """A boolean setting switched on by the option."""
    setting(parser, *flags, path=path, help=help, action="store_const", const=True)


def csv(value: str) -> tuple[str, ...]:
    """`a,b,c` -> ("a", "b", "c"): list-valued settings on the command line."""
    return tuple(part.strip() for part in value.split(",") if part.strip())


def int_csv(value: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in csv(value))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {value!r}") from None


def config_file_option(parser: argparse.ArgumentParser) -> None:
    """`--config FILE` on every command (as well as before it); SUPPRESS keeps a value given earlier."""
    parser.add_argument("--config", default=argparse.SUPPRESS, type=Path,
                        help="configuration file (TOML or JSON); SYMPHONY_* variables and options override it")


def connection_options(parser: argparse.ArgumentParser, *, signer: bool = False) -> None:
    """Where the deployment is (and, for commands that sign, which variable holds the key)."""
    setting(parser, "--manifest", path="chain.manifest", type=Path, help="deployment manifest")
    setting(parser, "--rpc-url", path="chain.rpc_url", help="RPC endpoint (none: the manifest's)")
    setting(parser, "--chain-id", path="chain.chain_id", type=int, help="refuse any other chain (none: the manifest's)")
    if signer:
        setting(parser, "--key-env", path="chain.private_key_env",
                help="environment variable holding this account's private key")


def overrides_of(args: argparse.Namespace) -> dict[str, Any]:
    """The nested {section: {field: value}} of every option that was given."""
    nested: dict[str, Any] = {}
    for key, value in vars(args).items():
        if not key.startswith(OVERRIDE) or value is None:
            continue
        *parents, leaf = key.removeprefix(OVERRIDE).split(".")
        node = nested
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return nested


def config(args: argparse.Namespace) -> SymphonyConfig:
    """File, then environment, then the options given on the command line."""
    return load_config(getattr(args, "config", None), overrides_of(args))


def command(subparsers: argparse._SubParsersAction, name: str, help: str) -> argparse.ArgumentParser:
    """A (sub)command parser that also accepts `--config FILE` after its name."""
    parser = subparsers.add_parser(name, help=help, description=help)
    config_file_option(parser)
    return parser
