"""The slither gate: findings are matched to the triage file by detector and location; only unexplained High
findings fail. (Slither itself runs in CI through scripts/run_tests.sh.)"""

from __future__ import annotations

import json

from scripts.slither_check import Finding, main, parse_findings, parse_triage, unexplained

TRIAGE = """
| detector | location | impact | why |
|---|---|---|---|
| reentrancy-eth | TaskBeacon.* | High | trusted callees, nonReentrant |
| timestamp | VoteCommitment.reveal | Low | windows in block time |
"""


def _report(*items: tuple[str, str, str, str]) -> dict:
    detectors = []
    for check, impact, contract, function in items:
        element = {"type": "function", "name": function, "type_specific_fields": {"parent": {"type": "contract", "name": contract}}}
        detectors.append({"check": check, "impact": impact, "description": f"{contract}.{function} ...", "elements": [element]})
    return {"success": True, "results": {"detectors": detectors}}


def test_findings_are_matched_by_detector_and_location():
    triage = parse_triage(TRIAGE)
    assert [(t.check, t.location) for t in triage] == [("reentrancy-eth", "TaskBeacon.*"), ("timestamp", "VoteCommitment.reveal")]
    findings = parse_findings(_report(("reentrancy-eth", "High", "TaskBeacon", "submitResult"),
                                      ("timestamp", "Low", "VoteCommitment", "reveal"),
                                      ("timestamp", "Low", "VoteCommitment", "finalize"),
                                      ("reentrancy-eth", "High", "CapabilityLedger", "slash")))
    assert findings[0] == Finding("reentrancy-eth", "High", "TaskBeacon.submitResult", "TaskBeacon.submitResult ...")
    left = unexplained(findings, triage)
    assert [f.location for f in left] == ["VoteCommitment.finalize", "CapabilityLedger.slash"]


def test_only_an_unexplained_high_fails(tmp_path, capsys):
    triage = tmp_path / "triage.md"
    triage.write_text(TRIAGE)
    ok = tmp_path / "ok.json"
    ok.write_text(json.dumps(_report(("reentrancy-eth", "High", "TaskBeacon", "close"), ("timestamp", "Low", "X", "y"))))
    assert main(["--json", str(ok), "--triage", str(triage)]) == 0  # the Low one is only a warning
    assert "warning: [Low] timestamp at X.y" in capsys.readouterr().out
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(_report(("arbitrary-send-eth", "High", "TaskBeacon", "withdrawCredit"))))
    assert main(["--json", str(bad), "--triage", str(triage), "--skeleton"]) == 1
    assert "| arbitrary-send-eth | TaskBeacon.withdrawCredit | High | TODO |" in capsys.readouterr().out


def test_the_project_triage_file_parses():
    from scripts.slither_check import TRIAGE as PATH

    rows = parse_triage(PATH.read_text())
    assert len(rows) >= 30 and all(r.reason for r in rows)
    assert {"CapabilityLedger.slash", "TaskBeacon.*", "VoteCommitment.*"} <= {r.location for r in rows}
