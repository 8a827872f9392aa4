"""Entry point of the `symphony` console script.

Why argparse and lazy imports: `symphony chain status` must answer in well under a second, so command
modules import heavy libraries (torch, transformers) inside their handlers, never at module level.
Every command does the same three things: load the configuration (file < SYMPHONY_* variables < options,
`symphony.cli.options.config`), take its section, make one library call. Errors a user can fix
(`SymphonyError`) become one line on stderr and exit code 2; Ctrl-C exits 130.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from pathlib import Path
from typing import Callable, Sequence

import symphony.cli as cli_package


def command_modules() -> list[str]:
    """Every `symphony/cli/*_cmd.py` module; each defines `register(subparsers)` and sets `func` on its parsers."""
    return sorted(
        f"{cli_package.__name__}.{m.name}" for m in pkgutil.iter_modules(cli_package.__path__) if m.name.endswith("_cmd")
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="symphony", description="Symphony: decentralized LLM agents on an EVM chain.")
    parser.add_argument("--config", type=Path, default=None,
                        help="configuration file (TOML or JSON); SYMPHONY_* variables and options override it")
    parser.add_argument("--state-dir", type=Path, default=None,
                        help="folder for the manifest, worker state and salts (default: $SYMPHONY_STATE_DIR, else ./.symphony)")
    parser.add_argument("--version", action="version", version=f"symphony {_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in command_modules():
        importlib.import_module(name).register(subparsers)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("symphony")
    except PackageNotFoundError:
        return "unknown (not installed)"


def _quiet_progress_bars() -> None:
    """Progress bars are for people watching a terminal; in a log file they are noise."""
    import os

    if not sys.stderr.isatty():
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TQDM_DISABLE", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def main(argv: Sequence[str] | None = None) -> int:
    import os

    from core.errors import SymphonyError
    from core.paths import STATE_DIR_ENV

    _quiet_progress_bars()
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.state_dir is not None:
        os.environ[STATE_DIR_ENV] = str(args.state_dir)  # every default under the state folder follows
    func: Callable[[argparse.Namespace], int | None] | None = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        return int(func(args) or 0)
    except SymphonyError as exc:
        print(f"symphony: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("symphony: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
