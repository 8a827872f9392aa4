"""The page's "verify" uses the same rule as the project: explorer/static/outcome.js, run under node, labels windows
and scores predictions exactly as marl_detector/outcome.py (the rule's Python reference, equal to OutcomeLib) on the
boundaries (a peak return of exactly 10 %, an end return of exactly half the peak, negative returns, where
truncation toward zero matters) and on random windows; verifyWindow re-derives the sub-window TWAPs from the five
boundary cumulatives as EvaluationLog._settle does, and expires a window that lacks one.

Needs node (skipped otherwise); the browser test runs the same file in Chromium against a resolved entry."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from marl_detector.outcome import Label, classify, score

NODE = shutil.which("node")
OUTCOME_JS = Path(__file__).resolve().parents[2] / "explorer" / "static" / "outcome.js"
WAD = 10**18

pytestmark = pytest.mark.skipif(NODE is None, reason="needs node to run explorer/static/outcome.js")

RUNNER = """
const {classify, scoreOf, verifyWindow} = require(process.argv[1]);
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
const out = {
  classified: input.windows.map(([base, m]) => {
    const c = classify(BigInt(base), m.map(BigInt));
    return [c.outcome, String(c.rPeak), String(c.rEnd)];
  }),
  scores: input.scores.map(([p, o]) => scoreOf(p, o)),
  verified: input.verify.map((w) => {
    const v = verifyWindow(w);
    return {outcome: v.outcome, m: v.m ? v.m.map(String) : null, entries: v.entries};
  }),
};
process.stdout.write(JSON.stringify(out));
"""


def run_js(payload: dict) -> dict:
    done = subprocess.run([NODE, "-e", RUNNER, str(OUTCOME_JS)], input=json.dumps(payload), capture_output=True,
                          text=True, timeout=60, check=True)
    return json.loads(done.stdout)


def windows() -> list[tuple[int, list[int]]]:
    base = 10**14
    fixed = [
        (base, [base] * 4),  # flat
        (base, [base * 11 // 10, base, base, base]),  # peak exactly +10 %, back to base: manipulation
        (base, [base * 11 // 10 - 1, base, base, base]),  # just under the threshold
        (base, [base, base, base * 12 // 10, base * 11 // 10]),  # end exactly half the peak: manipulation
        (base, [base, base, base * 12 // 10, base * 11 // 10 + 10**10]),  # end above half: discovery
        (base, [base * 9 // 10, base * 8 // 10, base // 2, base // 3]),  # a crash: negative returns
        (3, [4, 4, 3, 2]),  # tiny numbers, truncation toward zero on a negative end return
        (7 * WAD, [9 * WAD, 8 * WAD, 7 * WAD, 6 * WAD + 1]),
    ]
    rng = random.Random(18)
    for _ in range(300):
        b = rng.randint(1, 10**20)
        fixed.append((b, [max(1, int(b * rng.uniform(0.3, 2.5))) for _ in range(4)]))
    return fixed


def test_outcome_js_labels_and_scores_like_the_python_rule() -> None:
    cases = windows()
    outcomes = ["none", "manipulation", "discovery"]
    verify = [{"horizon": 400, "base": str(10**14), "settled": None,
               "checkpoints": [{"cumulative": str(c)} for c in (0, 100 * 10**14, 100 * 10**14 + 100 * 12 * 10**13,
                                                                 100 * 10**14 + 200 * 12 * 10**13, 300 * 10**14 + 200 * 12 * 10**13)],
               "entries": [{"id": 0, "label": 1}, {"id": 1, "label": 0}, {"id": 2, "label": None}]},
              {"horizon": 400, "base": "5", "settled": None, "checkpoints": [{"cumulative": "0"}], "entries": [{"id": 3, "label": 1}]}]
    got = run_js({"windows": [[str(b), [str(x) for x in m]] for b, m in cases],
                  "scores": [[p, o] for p in (0, 1) for o in outcomes], "verify": verify})
    for (base, m), (label, r_peak, r_end) in zip(cases, got["classified"]):
        expected = classify(base, m)
        assert (label, int(r_peak), int(r_end)) == (expected.label.name.lower(), expected.r_peak_bp, expected.r_end_bp), (base, m)
    assert {o.label.name.lower() for o in (classify(b, m) for b, m in cases)} == set(outcomes)  # every branch is hit
    assert got["scores"] == [score(p, Label[o.upper()]) for p in (0, 1) for o in outcomes]
    first, short = got["verified"]
    subs = [10**14, 12 * 10**13, 12 * 10**13, 2 * 10**14]  # (cum[k+1] - cum[k]) / (H/4)
    assert first["m"] == [str(x) for x in subs] and first["outcome"] == classify(10**14, subs).label.name.lower()
    assert [e["score"] for e in first["entries"]] == [score(1, classify(10**14, subs).label),
                                                      score(0, classify(10**14, subs).label), -15]
    assert short["outcome"] is None and short["entries"] == []
