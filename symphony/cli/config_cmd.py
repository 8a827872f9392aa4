"""`symphony config show`: the configuration every command would use here, after file, variables and options.

Why: with four sources of a value (default, file, SYMPHONY_* variable, option) a user must be able to see
which one won. Keys never appear in the configuration (only the name of the variable that holds one).
"""

from __future__ import annotations

import argparse
import json

from symphony.cli.options import command, config


def register(subparsers: argparse._SubParsersAction) -> None:
    cfg = subparsers.add_parser("config", help="inspect the effective configuration")
    sub = cfg.add_subparsers(dest="config_command", metavar="SUBCOMMAND", required=True)
    show = command(sub, "show", "print the effective configuration (defaults < file < SYMPHONY_* variables)")
    show.add_argument("section", nargs="?", help="only this section (chain, llm, requester, agent, echo, detector, ...)")
    show.add_argument("--json", action="store_true", help="print JSON instead of dotted key = value lines")
    show.set_defaults(func=_show)


def _flatten(prefix: str, value: object, out: list[tuple[str, object]]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _flatten(f"{prefix}.{key}" if prefix else key, inner, out)
    else:
        out.append((prefix, value))


def _show(args: argparse.Namespace) -> int:
    from core.errors import ConfigError
    from symphony.config import SECTIONS

    data = config(args).model_dump(mode="json")
    if args.section is not None:
        if args.section not in SECTIONS:
            raise ConfigError(f"unknown section {args.section!r}; sections: {', '.join(SECTIONS)}")
        data = {args.section: data[args.section]}
    if args.json:
        print(json.dumps(data, indent=1))
        return 0
    rows: list[tuple[str, object]] = []
    _flatten("", data, rows)
    for key, value in rows:
        print(f"{key} = {json.dumps(value)}")
    return 0
