// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MarketFixture} from "./utils/MarketFixture.sol";
import {RecordingLedger, RefusingLedger} from "./utils/Ledgers.sol";
import {EvaluationLog} from "../../../contracts/hideshill/EvaluationLog.sol";
import {OutcomeLib} from "../../../contracts/hideshill/OutcomeLib.sol";
import {ConstantProductPool} from "../../../contracts/hideshill/ConstantProductPool.sol";
import {MemeToken} from "../../../contracts/hideshill/MemeToken.sol";
import {ICapabilityLedger} from "../../../contracts/interfaces/ICapabilityLedger.sol";

/// @notice Commit / reveal / resolve on real swap sequences: each outcome class is produced by trading, never set.
contract EvaluationLogTest is MarketFixture {
    uint256 internal constant H = 400; // four sub-windows of 100 s
    address internal constant DETECTOR = address(0xDE7EC7);
    bytes32 internal constant MODEL = keccak256("model-v1");
    bytes32 internal constant SALT = keccak256("salt");

    EvaluationLog internal log;
    uint256 internal t0;

    event Resolved(
        uint256 indexed id,
        address indexed detector,
        EvaluationLog.Status status,
        OutcomeLib.Outcome outcome,
        uint8 predicted,
        int256 rPeakBp,
        int256 rEndBp,
        int256 score,
        uint256[4] subTwaps
    );

    function setUp() public override {
        super.setUp();
        log = new EvaluationLog(factory, ICapabilityLedger(address(0)));
        t0 = START + 200; // 200 s of flat history before the window
        vm.warp(t0);
    }

    function _commit(uint8 label, uint16 confidence) internal returns (uint256 id) {
        bytes32 c = log.computeCommitment(address(pool), H, label, confidence, MODEL, SALT);
        vm.prank(DETECTOR);
        id = log.commit(address(pool), H, c);
    }

    function _commitReveal(uint8 label) internal returns (uint256 id) {
        id = _commit(label, 7_000);
        vm.prank(DETECTOR);
        log.reveal(id, label, 7_000, MODEL, SALT);
    }

    /// Pump at t0+10, dump everything at t0+150: transient abnormal return.
    function _pumpAndDump() internal {
        vm.warp(t0 + 10);
        uint256 bought = _buy(200e18);
        vm.warp(t0 + 150);
        _sell(bought);
    }

    /// Informed buying at t0+10 that is never reversed: persistent move.
    function _discovery() internal {
        vm.warp(t0 + 10);
        _buy(200e18);
    }

    function _resolveAt(uint256 id, uint256 when) internal returns (EvaluationLog.Evaluation memory) {
        vm.warp(when);
        log.resolve(id);
        return log.getEvaluation(id);
    }

    function test_commitRecordsT0AndBase() public {
        uint256 id = _commit(1, 9_000);
        EvaluationLog.Evaluation memory e = log.getEvaluation(id);
        assertEq(id, 0, "first id");
        assertEq(e.detector, DETECTOR, "detector");
        assertEq(e.t0, t0, "t0");
        assertEq(e.horizon, H, "horizon");
        assertEq(e.base, 1e15, "base = flat pre-window price");
        assertTrue(e.status == EvaluationLog.Status.Committed, "status");
        assertEq(log.statsOf(DETECTOR).commits, 1, "commit counter");
    }

    function test_baseClampsToOldestObservation() public {
        // Window [t0 - 100, t0]: price 1e15 until t0-50, then the buy; base is the TWAP of both stretches.
        vm.warp(t0 - 50);
        _buy(100e18);
        uint256 p1 = pool.spotPrice();
        vm.warp(t0);
        uint256 id = _commit(0, 1);
        assertEq(log.getEvaluation(id).base, (1e15 * 50 + p1 * 50) / 100, "base twap");
        // A horizon longer than the history clamps the window start to the pool's creation.
        bytes32 c = log.computeCommitment(address(pool), 4000, 0, 1, MODEL, SALT);
        uint256 id2 = log.commit(address(pool), 4000, c);
        assertEq(log.getEvaluation(id2).base, (1e15 * 150 + p1 * 50) / 200, "clamped base");
    }

    function test_outcomeNone_trueNegative() public {
        uint256 id = _commitReveal(0);
        vm.warp(t0 + 50);
        _buy(5e18); // 1 % move: not abnormal
        EvaluationLog.Evaluation memory e = _resolveAt(id, t0 + H);
        assertTrue(e.outcome == OutcomeLib.Outcome.NONE, "NONE");
        assertTrue(e.status == EvaluationLog.Status.Resolved, "resolved");
        assertEq(e.score, 1, "TN scores +1");
        assertEq(log.statsOf(DETECTOR).trueNegatives, 1, "TN counter");
    }

    function test_outcomeManipulation_truePositive() public {
        uint256 id = _commitReveal(1);
        _pumpAndDump();
        EvaluationLog.Evaluation memory e = _resolveAt(id, t0 + H);
        assertTrue(e.outcome == OutcomeLib.Outcome.MANIPULATION, "MANIPULATION");
        assertTrue(e.rPeakBp >= 1000, "abnormal peak");
        assertTrue(e.rEndBp * 10_000 <= 5_000 * e.rPeakBp, "reversed");
        assertEq(e.score, 10, "TP scores +10");
        EvaluationLog.DetectorStats memory s = log.statsOf(DETECTOR);
        assertEq(s.truePositives, 1, "TP counter");
        assertEq(s.totalScore, 10, "total");
    }

    function test_outcomeManipulation_falseNegative() public {
        uint256 id = _commitReveal(0);
        _pumpAndDump();
        EvaluationLog.Evaluation memory e = _resolveAt(id, t0 + H + 1000);
        assertTrue(e.outcome == OutcomeLib.Outcome.MANIPULATION, "MANIPULATION");
        assertEq(e.score, -5, "FN scores -5");
        assertEq(log.statsOf(DETECTOR).falseNegatives, 1, "FN counter");
    }

    function test_outcomeDiscovery_falsePositiveCostsMost() public {
        uint256 id = _commitReveal(1);
        _discovery();
        EvaluationLog.Evaluation memory e = _resolveAt(id, t0 + H);
        assertTrue(e.outcome == OutcomeLib.Outcome.DISCOVERY, "DISCOVERY");
        assertEq(e.score, -15, "FP on discovery scores -15");
        assertEq(log.statsOf(DETECTOR).falsePositives, 1, "FP counter");
    }

    function test_falsePositiveOnNone() public {
        uint256 id = _commitReveal(1);
        EvaluationLog.Evaluation memory e = _resolveAt(id, t0 + H);
        assertTrue(e.outcome == OutcomeLib.Outcome.NONE, "NONE");
        assertEq(e.score, -5, "FP on none scores -5");
    }

    function test_resolveEmitsSubTwapsMatchingPool() public {
        uint256 id = _commitReveal(1);
        _pumpAndDump();
        vm.warp(t0 + H);
        uint256[4] memory m;
        for (uint256 k = 0; k < 4; ++k) {
            m[k] = pool.twap(t0 + k * 100, t0 + (k + 1) * 100);
        }
        (OutcomeLib.Outcome o, int256 rp, int256 re) = OutcomeLib.classify(1e15, m);
        vm.expectEmit(true, true, false, true);
        emit Resolved(id, DETECTOR, EvaluationLog.Status.Resolved, o, 1, rp, re, 10, m);
        log.resolve(id);
    }

    function test_unrevealedExpiresWithWorstScore() public {
        uint256 id = _commit(1, 5_000);
        _pumpAndDump();
        EvaluationLog.Evaluation memory e = _resolveAt(id, t0 + H);
        assertTrue(e.status == EvaluationLog.Status.Expired, "expired");
        assertEq(e.score, -15, "expired score");
        assertEq(log.statsOf(DETECTOR).expired, 1, "expired counter");
        assertEq(log.statsOf(DETECTOR).truePositives, 0, "not counted as TP");
    }

    function test_pagingViews() public {
        for (uint256 i = 0; i < 3; ++i) {
            _commit(uint8(i % 2), 100);
        }
        log.commit(address(pool), H, keccak256("other detector"));
        assertEq(log.evaluationCount(), 4, "count");
        assertEq(log.detectorEvaluationCount(DETECTOR), 3, "per detector");
        uint256[] memory ids = log.getDetectorEvaluationIds(DETECTOR, 1, 10);
        assertEq(ids.length, 2, "id page");
        assertEq(ids[1], 2, "ids in order");
        EvaluationLog.Evaluation[] memory page = log.getEvaluations(2, 10);
        assertEq(page.length, 2, "page");
        assertEq(page[1].detector, address(this), "last is the other detector");
        assertEq(log.getEvaluations(9, 10).length, 0, "past the end");
        assertEq(log.getDetectorEvaluationIds(DETECTOR, 9, 10).length, 0, "ids past the end");
    }

    function test_ledgerAdjustedOnResolve() public {
        RecordingLedger ledger = new RecordingLedger();
        log.setLedger(ICapabilityLedger(address(ledger)));
        uint256 id = _commitReveal(1);
        _pumpAndDump();
        _resolveAt(id, t0 + H);
        assertEq(ledger.calls(), 1, "one call");
        assertEq(ledger.lastAgent(), DETECTOR, "agent");
        // A true positive (+10) pulls reputation 1/8 of the way from 1.0 to its target 2.0.
        assertEq(ledger.lastDelta(), (2e18 - 1e18) / 8, "delta = (target - current) / steps");
    }

    function test_reputationTarget() public view {
        assertEq(log.reputationTarget(10), 2e18, "TP");
        assertEq(log.reputationTarget(1), 1.1e18, "TN");
        assertEq(log.reputationTarget(-5), 0.5e18, "FN / FP on a quiet market");
        assertEq(log.reputationTarget(-15), 0, "FP on discovery, clamped at 0");
    }

    function testFuzz_reputationConvergesToTheTarget(uint8 rounds) public {
        // Repeated true negatives move any reputation towards 1.1 and never past it.
        RecordingLedger ledger = new RecordingLedger();
        log.setLedger(ICapabilityLedger(address(ledger)));
        uint256 n = bound(rounds, 1, 12);
        uint256 previous = 1e18;
        for (uint256 i; i < n; ++i) {
            uint256 id = _commitReveal(0);
            _resolveAt(id, block.timestamp + H);
            uint256 r = ledger.reputationOf(DETECTOR);
            assertGt(r, previous, "moves up towards 1.1");
            assertLe(r, 1.1e18, "never past the target");
            previous = r;
        }
    }

    function test_refusingLedgerDoesNotBlockResolve() public {
        log.setLedger(ICapabilityLedger(address(new RefusingLedger())));
        uint256 id = _commitReveal(0);
        EvaluationLog.Evaluation memory e = _resolveAt(id, t0 + H);
        assertTrue(e.status == EvaluationLog.Status.Resolved, "resolved anyway");
    }

    // ---------------------------------------------------------------------------------- custom errors

    function test_revert_NotOwner() public {
        vm.prank(DETECTOR);
        vm.expectRevert(abi.encodeWithSelector(EvaluationLog.NotOwner.selector, DETECTOR));
        log.setLedger(ICapabilityLedger(address(1)));
        vm.prank(DETECTOR);
        vm.expectRevert(abi.encodeWithSelector(EvaluationLog.NotOwner.selector, DETECTOR));
        log.transferOwnership(DETECTOR);
        // Renounced ownership: nobody, the old owner included, can repoint the ledger.
        log.transferOwnership(address(0));
        vm.expectRevert(abi.encodeWithSelector(EvaluationLog.NotOwner.selector, address(this)));
        log.setLedger(ICapabilityLedger(address(1)));
    }

    function test_revert_UnknownPool() public {
        ConstantProductPool rogue = new ConstantProductPool(address(quote), address(meme), address(this));
        vm.expectRevert(abi.encodeWithSelector(EvaluationLog.UnknownPool.selector, address(rogue)));
        log.commit(address(rogue), H, SALT);
    }

    function test_revert_InvalidHorizon() public {
        vm.expectRevert(abi.encodeWithSelector(EvaluationLog.InvalidHorizon.selector, 0));
        log.commit(address(pool), 0, SALT);
        vm.expectRevert(abi.encodeWithSelector(EvaluationLog.InvalidHorizon.selector, 402));
        log.commit(address(pool), 402, SALT);
        vm.expectRevert(abi.encodeWithSelector(EvaluationLog.InvalidHorizon.selector, 30 days + 4));
        log.commit(address(pool), 30 days + 4, SALT);
    }

    function test_revert_ZeroCommitment() public {
        vm.expectRevert(EvaluationLog.ZeroCommitment.selector);
        log.commit(address(pool), H, bytes32(0));
    }

    function test_revert_HistoryUnavailable() public {
        MemeToken fresh = new MemeToken("New", "NEW");
        fresh.mint(address(this), 1e24);
        ConstantProductPool p = ConstantProductPool(factory.createPool(address(fresh)));
        fresh.approve(address(p), type(uint256).max);
        quote.approve(address(p), type(uint256).max);
        p.addLiquidity(1e18, 1e21);
        vm.expectRevert(abi.encodeWithSelector(EvaluationLog.HistoryUnavailable.selector, address(p), block.timestamp));
        log.commit(address(p), H, SALT);
    }

    function test_revert_UnknownEvaluation() public {
        vm.expectRevert(abi.encodeWithSelector(EvaluationLog.UnknownEvaluation.selector, 0));
        log.getEvaluation(0);
        vm.expectRevert(abi.encodeWithSelector(EvaluationLog.UnknownEvaluation.selector, 3));
        log.resolve(3);
    }

    function test_revert_NotDetector() public {
        uint256 id = _commit(1, 1);
        vm.expectRevert(abi.encodeWithSelector(EvaluationLog.NotDetector.selector, id, address(this)));
        log.reveal(id, 1, 1, MODEL, SALT);
    }

    function test_revert_WrongStatus() public {
        uint256 id = _commitReveal(1);
        vm.prank(DETECTOR);
        vm.expectRevert(abi.encodeWithSelector(EvaluationLog.WrongStatus.selector, id, EvaluationLog.Status.Revealed));
        log.reveal(id, 1, 7_000, MODEL, SALT);
        _resolveAt(id, t0 + H);
        vm.expectRevert(abi.encodeWithSelector(EvaluationLog.WrongStatus.selector, id, EvaluationLog.Status.Resolved));
        log.resolve(id);
        uint256 late = _commit(0, 0);
        vm.warp(block.timestamp + H);
        log.resolve(late);
        vm.prank(DETECTOR);
        vm.expectRevert(abi.encodeWithSelector(EvaluationLog.WrongStatus.selector, late, EvaluationLog.Status.Expired));
        log.reveal(late, 0, 0, MODEL, SALT);
    }

    function test_revert_InvalidLabel_and_InvalidConfidence() public {
        uint256 id = _commit(1, 1);
        vm.startPrank(DETECTOR);
        vm.expectRevert(abi.encodeWithSelector(EvaluationLog.InvalidLabel.selector, 2));
        log.reveal(id, 2, 1, MODEL, SALT);
        vm.expectRevert(abi.encodeWithSelector(EvaluationLog.InvalidConfidence.selector, 10_001));
        log.reveal(id, 1, 10_001, MODEL, SALT);
        vm.stopPrank();
    }

    function test_revert_CommitmentMismatch() public {
        uint256 id = _commit(1, 9_000);
        vm.startPrank(DETECTOR);
        vm.expectRevert(abi.encodeWithSelector(EvaluationLog.CommitmentMismatch.selector, id));
        log.reveal(id, 0, 9_000, MODEL, SALT); // flipping the label after the fact is caught
        vm.expectRevert(abi.encodeWithSelector(EvaluationLog.CommitmentMismatch.selector, id));
        log.reveal(id, 1, 9_000, MODEL, keccak256("other salt"));
        vm.stopPrank();
    }

    function test_revert_HorizonNotReached() public {
        uint256 id = _commitReveal(1);
        vm.warp(t0 + H - 1);
        vm.expectRevert(abi.encodeWithSelector(EvaluationLog.HorizonNotReached.selector, id, t0 + H));
        log.resolve(id);
    }

    function test_revert_PageTooLarge() public {
        vm.expectRevert(abi.encodeWithSelector(EvaluationLog.PageTooLarge.selector, 101, 100));
        log.getEvaluations(0, 101);
        vm.expectRevert(abi.encodeWithSelector(EvaluationLog.PageTooLarge.selector, 101, 100));
        log.getDetectorEvaluationIds(DETECTOR, 0, 101);
    }

    /// @notice An absurd price path (a 1-wei-priced pool pumped ~1e36x) still resolves: stored returns
    ///         saturate at int128, the event and the label use the exact values.
    function test_extremeReturnsSaturateInsteadOfBlockingResolve() public {
        MemeToken dust = new MemeToken("Dust", "DUST");
        dust.mint(address(this), 1e30);
        ConstantProductPool p = ConstantProductPool(factory.createPool(address(dust)));
        dust.approve(address(p), type(uint256).max);
        quote.approve(address(p), type(uint256).max);
        p.addLiquidity(1, 1e18); // spot price 1 wei of Q per T
        vm.warp(block.timestamp + 200);
        bytes32 c = log.computeCommitment(address(p), H, 1, 1, MODEL, SALT);
        vm.prank(DETECTOR);
        uint256 id = log.commit(address(p), H, c);
        uint256 start = block.timestamp;
        vm.warp(start + 10);
        p.swap(true, 1e18, 0, address(this));
        assertGt(p.spotPrice(), 1e35, "pumped");
        vm.warp(start + H);
        log.resolve(id);
        EvaluationLog.Evaluation memory e = log.getEvaluation(id);
        assertEq(int256(e.rPeakBp), int256(type(int128).max), "saturated peak");
        assertTrue(e.outcome == OutcomeLib.Outcome.DISCOVERY, "persistent move");
        assertTrue(e.status == EvaluationLog.Status.Expired, "never revealed");
    }

    /// @notice Whatever the trades, a resolved score is one of the documented values and the counters add up.
    function testFuzz_resolveScoresAreDocumented(uint256 buyQ, uint256 sellFrac, uint256 sellAt, bool predicted)
        public
    {
        uint256 id = _commitReveal(predicted ? 1 : 0);
        vm.warp(t0 + 5);
        uint256 bought = _buy(bound(buyQ, 1e15, 2_000e18));
        vm.warp(t0 + bound(sellAt, 6, H));
        uint256 amount = (bought * bound(sellFrac, 0, 100)) / 100;
        if (amount > 0 && pool.getAmountOut(false, amount) > 0) _sell(amount);
        EvaluationLog.Evaluation memory e = _resolveAt(id, t0 + H);
        // The documented table, written out here rather than read from OutcomeLib.score (which resolve itself
        // calls, so comparing with it could never fail): TP +10, FP -5 on NONE and -15 on DISCOVERY, FN -5, TN +1.
        bool manipulated = e.outcome == OutcomeLib.Outcome.MANIPULATION;
        int256 expected;
        if (predicted) expected = manipulated ? int256(10) : (e.outcome == OutcomeLib.Outcome.DISCOVERY ? -15 : -5);
        else expected = manipulated ? int256(-5) : int256(1);
        assertEq(e.score, expected, "score");
        EvaluationLog.DetectorStats memory s = log.statsOf(DETECTOR);
        assertEq(s.truePositives + s.falsePositives + s.trueNegatives + s.falseNegatives, 1, "one counter moved");
        uint256 counted = predicted ? (manipulated ? s.truePositives : s.falsePositives)
            : (manipulated ? s.falseNegatives : s.trueNegatives);
        assertEq(counted, 1, "the matching counter moved");
        assertEq(s.totalScore, expected, "running score");
    }
}
