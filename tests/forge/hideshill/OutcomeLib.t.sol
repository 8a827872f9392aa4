// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {HSTest} from "./utils/HSTest.sol";
import {OutcomeLib} from "../../../contracts/hideshill/OutcomeLib.sol";

/// @notice Boundaries of the label rule (theta = 1000 bp, rho = 5000 bp) and the score table.
contract OutcomeLibTest is HSTest {
    uint256 internal constant BASE = 1e15;

    function _m(uint256 a, uint256 b, uint256 c, uint256 d) internal pure returns (uint256[4] memory m) {
        m[0] = a;
        m[1] = b;
        m[2] = c;
        m[3] = d;
    }

    function _pct(uint256 bp) internal pure returns (uint256) {
        return BASE + (BASE * bp) / 10_000;
    }

    function test_peakJustBelowThresholdIsNone() public pure {
        (OutcomeLib.Outcome o, int256 rp,) = OutcomeLib.classify(BASE, _m(_pct(999), BASE, BASE, BASE));
        assertEq(rp, 999, "rPeak");
        assertTrue(o == OutcomeLib.Outcome.NONE, "NONE below theta");
    }

    function test_peakAtThresholdWithFullReversalIsManipulation() public pure {
        (OutcomeLib.Outcome o, int256 rp, int256 re) = OutcomeLib.classify(BASE, _m(BASE, _pct(1000), BASE, BASE));
        assertEq(rp, 1000, "rPeak");
        assertEq(re, 0, "rEnd");
        assertTrue(o == OutcomeLib.Outcome.MANIPULATION, "MANIPULATION at theta");
    }

    function test_endKeepingExactlyHalfIsManipulation() public pure {
        (OutcomeLib.Outcome o,, int256 re) = OutcomeLib.classify(BASE, _m(_pct(2000), _pct(1500), _pct(1200), _pct(1000)));
        assertEq(re, 1000, "rEnd");
        assertTrue(o == OutcomeLib.Outcome.MANIPULATION, "R_end*1e4 == rho*R_peak");
    }

    function test_endKeepingMoreThanHalfIsDiscovery() public pure {
        (OutcomeLib.Outcome o,,) = OutcomeLib.classify(BASE, _m(_pct(2000), _pct(1500), _pct(1200), _pct(1001)));
        assertTrue(o == OutcomeLib.Outcome.DISCOVERY, "DISCOVERY");
    }

    function test_negativeReturnsTruncateTowardZero() public pure {
        // (base - 1 - base) * 1e4 / base = -1e4 / 1e15 -> 0 with truncation (floor would give -1).
        (, int256 rp, int256 re) = OutcomeLib.classify(BASE, _m(BASE - 1, BASE - 1, BASE - 1, BASE - 1));
        assertEq(rp, 0, "rPeak truncates to 0");
        assertEq(re, 0, "rEnd truncates to 0");
        (,, int256 re2) = OutcomeLib.classify(BASE, _m(_pct(3000), BASE, BASE, BASE / 2));
        assertEq(re2, -5000, "crash end");
    }

    function test_scoreTable() public pure {
        assertEq(OutcomeLib.score(1, OutcomeLib.Outcome.MANIPULATION), 10, "TP");
        assertEq(OutcomeLib.score(0, OutcomeLib.Outcome.NONE), 1, "TN none");
        assertEq(OutcomeLib.score(0, OutcomeLib.Outcome.DISCOVERY), 1, "TN discovery");
        assertEq(OutcomeLib.score(0, OutcomeLib.Outcome.MANIPULATION), -5, "FN");
        assertEq(OutcomeLib.score(1, OutcomeLib.Outcome.NONE), -5, "FP none");
        assertEq(OutcomeLib.score(1, OutcomeLib.Outcome.DISCOVERY), -15, "FP discovery");
    }
}
