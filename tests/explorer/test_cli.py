"""`symphony explorer` as a user runs it: it serves the page and the JSON for a manifest's chain, holding no key,
and refuses a manifest of another chain with one line on stderr and exit code 2 (no traceback)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request

from tests.chain.helpers import read_until

SYMPHONY = [sys.executable, "-m", "symphony.cli.main"]


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("SYMPHONY_")}  # no key, no stray settings


def test_explorer_serves_the_manifests_chain_without_a_key(chain, tmp_path) -> None:
    manifest = chain.manifest.save(tmp_path / "deployment.json")
    proc = subprocess.Popen([*SYMPHONY, "explorer", "--manifest", str(manifest), "--port", "0"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=_env())
    try:
        url = re.search(r"explorer at (http://\S+)/", read_until(proc.stdout, "explorer at", 60))[1]
        with urllib.request.urlopen(f"{url}/api/state", timeout=10) as response:
            state = json.loads(response.read())
        assert state["network"]["chain_id"] == chain.manifest.chain_id
        assert state["network"]["contracts"]["beacon"]["address"] == chain.manifest.address("TaskBeacon")
        with urllib.request.urlopen(f"{url}/", timeout=10) as response:
            assert b"Symphony network explorer" in response.read()
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_a_manifest_of_another_chain_is_one_line_and_exit_2(chain, tmp_path) -> None:
    data = json.loads(chain.manifest.model_dump_json())
    data["chain_id"] = chain.manifest.chain_id + 1
    other = tmp_path / "other.json"
    other.write_text(json.dumps(data))
    done = subprocess.run([*SYMPHONY, "explorer", "--manifest", str(other), "--port", "0"], capture_output=True,
                          text=True, timeout=60, env=_env())
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "expected chain" in lines[0] and "Traceback" not in done.stderr, done.stderr
