"""The CLI's surface, checked over every command the parser has: help on every option, `--json` on every command
that lists or reports, and the same connection options wherever a command talks to a deployed network."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from symphony.cli.main import build_parser

# Commands that read a deployed network's state and print it: each must offer --json.
REPORTING = {"ask", "chain status", "agents list", "config show", "detect ask", "echo run", "eval log", "eval verify",
             "scheduler run", "task show", "tools list"}
# Commands with --rpc-url but no manifest: they address one contract given by --registry, not a deployment.
REGISTRY_ONLY = {"echo deploy-registry", "echo revoke"}


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> dict[str, argparse.ArgumentParser]:
    out = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                out.update(_commands(sub, (*path, name)))
    if parser._subparsers is None:
        out[" ".join(path)] = parser
    return out


COMMANDS = _commands(build_parser())


def _options(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {s: a for a in parser._actions for s in a.option_strings}


def test_every_option_and_argument_says_what_it_is_for() -> None:
    missing = [f"{name}: {a.option_strings or a.dest}" for name, p in COMMANDS.items() for a in p._actions
               if not isinstance(a, (argparse._HelpAction, argparse._VersionAction)) and not (a.help or "").strip()]
    assert not missing, missing
    assert all((p.description or "").strip() for p in COMMANDS.values())


def test_reporting_commands_offer_json_and_network_commands_take_the_same_connection_options() -> None:
    assert REPORTING <= set(COMMANDS), REPORTING - set(COMMANDS)
    assert [c for c in REPORTING if "--json" not in _options(COMMANDS[c])] == []
    for name, parser in COMMANDS.items():
        options = _options(parser)
        if "--rpc-url" in options and name not in REGISTRY_ONLY:
            assert "--manifest" in options, f"{name} takes --rpc-url but not --manifest"
            assert options["--rpc-url"].dest == "chain__rpc_url" or "chain" in options["--rpc-url"].dest, name


def test_tools_list_json_is_the_table_as_data() -> None:
    done = subprocess.run([sys.executable, "-m", "symphony.cli.main", "tools", "list", "--json"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert {r["agent"] for r in rows} >= {"python", "search", "llm"}
    python = next(r for r in rows if r["agent"] == "python")
    assert "calculate" in python["tools"] and python["schema_hash"].startswith("0x") and len(python["schema_hash"]) == 66
