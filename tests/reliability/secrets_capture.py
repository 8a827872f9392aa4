"""Test helpers for issue #15 "Secrets": run any `symphony` process at DEBUG log level and search everything it
leaves behind for a private key.

Why a `sitecustomize.py` on PYTHONPATH and not a CLI option: the commands configure logging themselves (INFO), and
some of them start further Python processes (`echo run` starts trainers and samplers); a `sitecustomize` is
imported by every interpreter that inherits the environment, before any command code, so each one logs every
logger (web3, urllib3 and ours) at DEBUG into its own file, and the commands' later `basicConfig` is a no-op.
"""

from __future__ import annotations

import os
from pathlib import Path

ANVIL_MNEMONIC = "test test test test test test test test test test test junk"

_SITECUSTOMIZE = '''\
import logging, os, sys
_dir = os.environ.get("SECRETS_TEST_LOG_DIR")
if _dir:
    logging.basicConfig(level=logging.DEBUG, force=True,
                        format="%(asctime)s %(process)d %(name)s %(levelname)s %(message)s",
                        handlers=[logging.FileHandler(os.path.join(_dir, "debug-%d.log" % os.getpid())),
                                  logging.StreamHandler(sys.stderr)])
'''


def anvil_dev_keys(n: int = 10) -> list[str]:
    """anvil's well-known dev keys (its default mnemonic) as lowercase hex without 0x: every key a local run uses."""
    from eth_account import Account

    Account.enable_unaudited_hdwallet_features()
    return [Account.from_mnemonic(ANVIL_MNEMONIC, account_path=f"m/44'/60'/0'/0/{i}").key.hex().removeprefix("0x")
            for i in range(n)]


def debug_env(work: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    """An environment under which every Python process logs everything at DEBUG into `work/debug-logs/`."""
    site = work / "debug-site"
    logs = work / "debug-logs"
    site.mkdir(parents=True, exist_ok=True)
    logs.mkdir(parents=True, exist_ok=True)
    (site / "sitecustomize.py").write_text(_SITECUSTOMIZE)
    env = dict(os.environ if base is None else base)
    env["PYTHONPATH"] = os.pathsep.join([str(site), *filter(None, [env.get("PYTHONPATH")])])
    env["SECRETS_TEST_LOG_DIR"] = str(logs)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def debug_logs(work: Path) -> list[Path]:
    """The DEBUG log files written so far under `debug_env(work)` (one per process)."""
    return sorted((work / "debug-logs").glob("debug-*.log"))


def find_keys(keys: list[str], texts: dict[str, str | bytes]) -> list[str]:
    """Where any of `keys` (hex without 0x) appears in `texts` (name -> content): in any letter case, with or
    without 0x (the hex alone covers both), and, in binary content, as the raw 32 bytes. Empty: no leak."""
    found = []
    for name, content in texts.items():
        data = content if isinstance(content, bytes) else content.encode("utf-8", "surrogateescape")
        lowered = data.lower()
        for key in keys:
            if key.encode() in lowered or bytes.fromhex(key) in data:
                found.append(f"dev key ...{key[-6:]} in {name}")
    return found


def files_under(*roots: Path) -> dict[str, bytes]:
    """Every regular file under `roots` (logs, state, SQLite databases, JSON results, specs), as bytes; the
    sitecustomize itself is left out (it holds no key, but it is ours, not the product's)."""
    out: dict[str, bytes] = {}
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.is_file() and path.name != "sitecustomize.py":
                try:
                    out[str(path)] = path.read_bytes()
                except OSError:  # removed meanwhile (a SQLite journal)
                    pass
    return out
