#!/usr/bin/env python
"""Static analysis gate: run slither over contracts/ and fail on any High finding that contracts/SLITHER_TRIAGE.md
does not explain.

Why a triage file and not slither's own `--triage-mode` database: the reasons must be reviewable in a pull request
next to the code they excuse, and a finding is matched by what it is (detector, contract, function), not by the
line numbers slither's ids hash, so an unrelated edit does not un-triage it.

The triage file lists findings as Markdown table rows `| detector | Contract.function | impact | why |`, where the
location may use `*` wildcards (`TaskBeacon.*`). Exit codes: 0 no unexplained High finding; 1 some; 2 slither
could not run. Unexplained findings of lower impact are printed as warnings. `--skeleton` prints table rows for
every unexplained finding, to fill in the reasons.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TRIAGE = ROOT / "contracts" / "SLITHER_TRIAGE.md"
_ROW = re.compile(r"^\|\s*`?([a-z0-9-]+)`?\s*\|\s*`?([^|`]+?)`?\s*\|\s*(High|Medium|Low|Informational|Optimization)\s*\|(.+)\|\s*$")


@dataclass(frozen=True)
class Finding:
    check: str
    impact: str
    location: str  # Contract.function, or Contract for contract-level findings
    description: str


@dataclass(frozen=True)
class Triaged:
    check: str
    location: str
    impact: str
    reason: str

    def covers(self, f: Finding) -> bool:
        return self.check == f.check and fnmatch.fnmatchcase(f.location, self.location)


def _location(element: dict) -> str:
    """Contract.function for a function or node, Contract for a contract, Contract.name for anything else."""
    kind = element.get("type")
    fields = element.get("type_specific_fields", {})
    if kind == "contract":
        return element["name"]
    parent = fields.get("parent", {})
    if kind == "node":  # a statement: its parent is the function
        function = parent
        contract = function.get("type_specific_fields", {}).get("parent", {}).get("name", "?")
        return f"{contract}.{function.get('name', '?')}"
    contract = parent.get("name") if parent.get("type") == "contract" else parent.get("type_specific_fields", {}).get("parent", {}).get("name", "?")
    return f"{contract}.{element.get('name', '?')}"


def parse_findings(report: dict) -> list[Finding]:
    out = []
    for d in report.get("results", {}).get("detectors", []):
        elements = d.get("elements") or [{}]
        out.append(Finding(d["check"], d["impact"], _location(elements[0]), " ".join(d.get("description", "").split())))
    return out


def parse_triage(text: str) -> list[Triaged]:
    rows = []
    for line in text.splitlines():
        m = _ROW.match(line.strip())
        if m:
            rows.append(Triaged(m.group(1), m.group(2).strip(), m.group(3), m.group(4).strip()))
    return rows


def unexplained(findings: list[Finding], triage: list[Triaged]) -> list[Finding]:
    return [f for f in findings if not any(t.covers(f) for t in triage)]


def run_slither() -> dict:
    if shutil.which("slither") is None and not (ROOT / ".venv" / "bin" / "slither").exists():
        raise RuntimeError("slither-analyzer is not installed (pip install slither-analyzer; it is pinned in requirements)")
    exe = shutil.which("slither") or str(ROOT / ".venv" / "bin" / "slither")
    env = {**os.environ, "PATH": f"{ROOT / 'toolchain' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"}
    # Compiled through the foundry platform (forge with the offline solc shim); tests are not analysed.
    cmd = [exe, ".", "--compile-force-framework", "foundry", "--filter-paths", "tests/", "--json", "-"]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise RuntimeError(f"slither produced no JSON report:\n{proc.stderr[-3000:]}") from None
    if not report.get("success", False):
        raise RuntimeError(f"slither failed: {report.get('error')}")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, help="read this slither JSON report instead of running slither")
    parser.add_argument("--triage", type=Path, default=TRIAGE)
    parser.add_argument("--skeleton", action="store_true", help="print triage rows for every unexplained finding")
    args = parser.parse_args(argv)
    try:
        report = json.loads(args.json.read_text()) if args.json else run_slither()
    except (OSError, RuntimeError) as exc:
        print(f"slither: {exc}", file=sys.stderr)
        return 2
    findings = parse_findings(report)
    triage = parse_triage(args.triage.read_text())
    left = unexplained(findings, triage)
    highs = [f for f in left if f.impact == "High"]
    print(f"slither: {len(findings)} findings, {len(findings) - len(left)} explained in {args.triage.relative_to(ROOT) if args.triage.is_relative_to(ROOT) else args.triage}, "
          f"{len(left)} unexplained ({len(highs)} High)")
    for f in left:
        print(f"  {'ERROR' if f.impact == 'High' else 'warning'}: [{f.impact}] {f.check} at {f.location}: {f.description[:200]}")
    if args.skeleton:
        for f in left:
            print(f"| {f.check} | {f.location} | {f.impact} | TODO |")
    return 1 if highs else 0


if __name__ == "__main__":
    sys.exit(main())
