// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {LogFixture} from "./utils/LogFixture.sol";
import {RecordingLedger} from "./utils/Ledgers.sol";
import {EvaluationLog} from "../../../contracts/hideshill/EvaluationLog.sol";
import {IEvidenceLedger} from "../../../contracts/hideshill/IEvidenceLedger.sol";
import {OutcomeLib} from "../../../contracts/hideshill/OutcomeLib.sol";
import {ConstantProductPool} from "../../../contracts/hideshill/ConstantProductPool.sol";
import {MemeToken} from "../../../contracts/hideshill/MemeToken.sol";

/// @notice Windows, commit / reveal / resolve on real swap sequences (each outcome class is produced by trading,
///         never set), fees, views and every custom error. The attacks of issue 14 item 7 are in
///         EvaluationLogAttacks.t.sol, the ledger side in EvaluationLogLedger.t.sol.
contract EvaluationLogTest is LogFixture {
    event WindowSettled(
        uint256 indexed windowId,
        OutcomeLib.Outcome outcome,
        int256 rPeakBp,
        int256 rEndBp,
        uint256[4] subTwaps,
        bool historyAvailable,
        bool tainted
    );

    function test_openWindowFixesBaseAndCumulativeAtOpening() public view {
        EvaluationLog.Window memory w = log.getWindow(wid);
        assertEq(w.pool, address(pool), "pool");
        assertEq(w.opener, REQUESTER, "opener");
        assertEq(w.openedAt, START + 200, "openedAt");
        assertEq(w.t0, START + 210, "t0");
        assertEq(w.horizon, H, "horizon");
        assertEq(w.baseStart, START + 100, "base window starts H/4 before the opening");
        assertEq(w.base, 1e15, "base = flat pre-window price");
        assertEq(w.cumOpen, 1e15 * 200, "cumulative price at opening");
        assertEq(log.feesAccrued(), FEE, "fee kept for the treasury");
        assertEq(log.windowCount(), 1, "one window");
    }

    /// @notice Property: the base price is fixed before any commit block. Trades in the opening block (after the
    ///         opening) and in the commit blocks leave it unchanged.
    function testFuzz_baseIsFixedBeforeTheCommitBlock(uint256 sameBlock, uint256 later) public {
        vm.warp(START + 300);
        uint256 before = pool.spotPrice();
        (uint256 w2,) = _open(LEAD);
        _buy(bound(sameBlock, 1e15, 500e18)); // same block, after the opening
        vm.warp(START + 305);
        _sell(bound(later, 1e18, 400_000e18));
        _commitAs(DETECTOR, w2, 1, 1);
        assertEq(log.getWindow(w2).base, before, "base = the flat price before the opening block");
    }

    function test_baseClampsToTheFirstObservation() public {
        // Window [open - 100, open]: price 1e15 until open-50, then a buy; base is the TWAP of both stretches.
        vm.warp(START + 250);
        _buy(100e18);
        uint256 p1 = pool.spotPrice();
        vm.warp(START + 300);
        (uint256 w2,) = _open(LEAD);
        assertEq(log.getWindow(w2).base, (1e15 * 50 + p1 * 50) / 100, "base twap");
        // A horizon whose quarter is longer than the history clamps the base window to the pool's creation.
        vm.prank(REQUESTER);
        uint256 w3 = log.openWindow{value: FEE}(address(pool), block.timestamp + 1, 4000);
        assertEq(log.getWindow(w3).baseStart, START, "clamped to creation");
        assertEq(log.getWindow(w3).base, (1e15 * 250 + p1 * 50) / 300, "clamped base");
    }

    function test_commitRecordsTheEntry() public {
        uint256 id = _commit(1, 9_000);
        EvaluationLog.Evaluation memory e = log.getEvaluation(id);
        assertEq(id, 0, "first id");
        assertEq(e.detector, DETECTOR, "detector");
        assertEq(e.windowId, wid, "window");
        assertEq(e.t0, t0, "t0 from the window");
        assertEq(e.horizon, H, "horizon");
        assertEq(e.base, 1e15, "base from the window");
        assertEq(e.committedAt, START + 200, "committed at");
        assertFalse(e.openerEntry, "a detector's entry");
        assertTrue(e.status == EvaluationLog.Status.Committed, "status");
        assertEq(log.statsOf(DETECTOR).commits, 1, "commit counter");
        (bool committed, uint256 found) = log.entryOf(wid, DETECTOR);
        assertTrue(committed && found == id, "entryOf");
        (committed,) = log.entryOf(wid, OTHER);
        assertFalse(committed, "no entry of OTHER");
        assertEq(log.getWindow(wid).entries, 1, "window entry count");
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

    function test_windowSettlesOnceWithSubTwapsMatchingThePool() public {
        uint256 a = _commitReveal(1);
        uint256 b = _commitRevealAs(OTHER, wid, 0);
        _pumpAndDump();
        vm.warp(t0 + H);
        uint256[4] memory m;
        for (uint256 k = 0; k < 4; ++k) {
            m[k] = pool.twap(t0 + k * 100, t0 + (k + 1) * 100);
        }
        (OutcomeLib.Outcome o, int256 rp, int256 re) = OutcomeLib.classify(1e15, m);
        vm.expectEmit(true, false, false, true, address(log));
        emit WindowSettled(wid, o, rp, re, m, true, false);
        log.resolve(a);
        EvaluationLog.Window memory w = log.getWindow(wid);
        assertTrue(w.settled && w.checkpointed == 0x1f, "settled from five checkpoints");
        // Trades after settlement cannot change the second entry's outcome.
        _buy(500e18);
        log.resolve(b);
        assertTrue(log.getEvaluation(b).outcome == o, "same outcome for every entry");
        assertEq(log.getEvaluation(a).score, 10, "TP");
        assertEq(log.getEvaluation(b).score, -5, "FN");
    }

    function test_checkpointStoresPassedBoundariesOnly() public {
        vm.warp(t0 + 150);
        assertEq(log.checkpoint(wid), 2, "t0 and t0 + q have passed");
        EvaluationLog.Window memory w = log.getWindow(wid);
        assertEq(w.checkpointed, 0x03, "bits 0 and 1");
        assertEq(w.cum[1], pool.cumulativeAt(t0 + 100), "stored value");
        assertEq(log.checkpoint(wid), 0, "nothing new");
        vm.warp(t0 + H);
        assertEq(log.checkpoint(wid), 3, "the rest");
        assertEq(log.checkpoint(wid), 0, "all stored");
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

    /// @notice The opener (a committee logging its verdict) may add one entry without being a staked detector; it
    ///         is scored like any other, and never touches the ledger.
    function test_openerEntryIsScoredWithoutLedgerEffects() public {
        uint256 id = _commitRevealAs(REQUESTER, wid, 1);
        assertTrue(log.getEvaluation(id).openerEntry, "opener entry");
        _pumpAndDump();
        EvaluationLog.Evaluation memory e = _resolveAt(id, t0 + H);
        assertEq(e.score, 10, "scored");
        assertEq(ledger.calls() + ledger.evidenceCount(), 0, "no ledger call");
    }

    function test_pagingViews() public {
        _commit(0, 100);
        _commitAs(OTHER, wid, 1, 100);
        (uint256 w2,) = _open(LEAD);
        _commitAs(DETECTOR, w2, 1, 100);
        assertEq(log.evaluationCount(), 3, "count");
        assertEq(log.detectorEvaluationCount(DETECTOR), 2, "per detector");
        uint256[] memory ids = log.getDetectorEvaluationIds(DETECTOR, 1, 10);
        assertEq(ids.length, 1, "id page");
        assertEq(ids[0], 2, "ids in order");
        EvaluationLog.Evaluation[] memory page = log.getEvaluations(1, 10);
        assertEq(page.length, 2, "page");
        assertEq(page[0].detector, OTHER, "second entry");
        assertEq(page[1].windowId, w2, "third entry in window 2");
        assertEq(log.getEvaluations(9, 10).length, 0, "past the end");
        assertEq(log.getDetectorEvaluationIds(DETECTOR, 9, 10).length, 0, "ids past the end");
        assertEq(log.getWindows(0, 10).length, 2, "windows");
        assertEq(log.getWindows(5, 10).length, 0, "windows past the end");
    }

    function test_feesAccrueAndGoToTheTreasury() public {
        _open(LEAD);
        assertEq(log.feesAccrued(), 2 * FEE, "two windows");
        address treasury = address(0x7EA5);
        log.setTreasury(treasury);
        log.withdrawFees();
        assertEq(treasury.balance, 2 * FEE, "paid out");
        assertEq(log.feesAccrued(), 0, "nothing left");
        vm.expectRevert(EvaluationLog.NothingToWithdraw.selector);
        log.withdrawFees();
    }

    function test_ownerSettings() public {
        log.setWindowFee(0);
        vm.prank(REQUESTER);
        uint256 w2 = log.openWindow(address(pool), block.timestamp + 1, H);
        log.setMinDetectorStake(2 ether);
        bytes32 c = log.computeCommitment(w2, DETECTOR, 0, 0, MODEL, SALT);
        vm.prank(DETECTOR);
        vm.expectRevert(
            abi.encodeWithSelector(EvaluationLog.InsufficientDetectorStake.selector, DETECTOR, STAKE, 2 ether)
        );
        log.commit(w2, c);
    }

    function test_revert_WindowFull() public {
        uint256 max = log.MAX_ENTRIES_PER_WINDOW();
        for (uint256 i; i < max; ++i) {
            address d = address(uint160(0xF000 + i));
            ledger.register(d, STAKE);
            _commitAs(d, wid, 0, 0);
        }
        assertEq(log.windowParticipants(wid).length, max, "participants listed");
        bytes32 c = log.computeCommitment(wid, DETECTOR, 0, 0, MODEL, SALT);
        vm.prank(DETECTOR);
        vm.expectRevert(abi.encodeWithSelector(EvaluationLog.WindowFull.selector, wid, max));
        log.commit(wid, c);
    }

    function test_reputationTarget() public view {
        assertEq(log.reputationTarget(10), 2e18, "TP");
        assertEq(log.reputationTarget(1), 1.1e18, "TN");
        assertEq(log.reputationTarget(-5), 0.5e18, "FN / FP on a quiet market");
        assertEq(log.reputationTarget(-15), 0, "FP on discovery, clamped at 0");
    }

    // ---------------------------------------------------------------------------------- custom errors

    function test_revert_NotOwner() public {
        vm.startPrank(DETECTOR);
        vm.expectRevert(abi.encodeWithSelector(EvaluationLog.NotOwner.selector, DETECTOR));
        log.setLedger(IEvidenceLedger(address(1)));
        vm.expectRevert(abi.encodeWithSelector(EvaluationLog.NotOwner.selector, DETECTOR));
        log.setWindowFee(0);
        vm.expectRevert(abi.encodeWithSelector(EvaluationLog.NotOwner.selector, DETECTOR));
        log.setMinDetectorStake(0);
        vm.expectRevert(abi.encodeWithSelector(EvaluationLog.NotOwner.selector, DETECTOR));
        log.setTreasury(DETECTOR);
        vm.expectRevert(abi.encodeWithSelector(EvaluationLog.NotOwner.selector, DETECTOR));
        log.transferOwnership(DETECTOR);
        vm.stopPrank();
        // Renounced ownership: nobody, the old owner included, can repoint the ledger.
        log.transferOwnership(address(0));
        vm.expectRevert(abi.encodeWithSelector(EvaluationLog.NotOwner.selector, address(this)));
        log.setLedger(IEvidenceLedger(address(1)));
    }

    function test_revert_UnknownPool() public {
        ConstantProductPool rogue = new ConstantProductPool(address(quote), address(meme), address(this));
        vm.prank(REQUESTER);
        vm.expectRevert(abi.encodeWithSelector(EvaluationLog.UnknownPool.selector, address(rogue)));
        log.openWindow{value: FEE}(address(rogue), block.timestamp + 1, H);
    }

    function test_revert_InvalidHorizon() public {
        vm.startPrank(REQUESTER);
        uint256[5] memory bad = [uint256(0), 4, 396, 402, 30 days + 4];
        for (uint256 i; i < bad.length; ++i) {
            vm.expectRevert(abi.encodeWithSelector(EvaluationLog.InvalidHorizon.selector, bad[i]));
            log.openWindow{value: FEE}(address(pool), block.timestamp + 1, bad[i]);
        }
        vm.stopPrank();
        vm.expectRevert(abi.encodeWithSelector(EvaluationLog.InvalidHorizon.selector, 396));
        new EvaluationLog(factory, IEvidenceLedger(address(ledger)), 396, FEE, MIN_STAKE);
    }

    function test_revert_InvalidStart() public {
        uint256 nowTs = block.timestamp;
        vm.startPrank(REQUESTER);
        vm.expectRevert(abi.encodeWithSelector(EvaluationLog.InvalidStart.selector, nowTs, nowTs + 1, nowTs + 100));
        log.openWindow{value: FEE}(address(pool), nowTs, H);
        vm.expectRevert(
            abi.encodeWithSelector(EvaluationLog.InvalidStart.selector, nowTs + 101, nowTs + 1, nowTs + 100)
        );
        log.openWindow{value: FEE}(address(pool), nowTs + 101, H);
        log.openWindow{value: FEE}(address(pool), nowTs + 100, H); // the latest allowed start
        vm.stopPrank();
    }

    function test_revert_WrongFee() public {
        vm.startPrank(REQUESTER);
        vm.expectRevert(abi.encodeWithSelector(EvaluationLog.WrongFee.selector, 0, FEE));
        log.openWindow(address(pool), block.timestamp + 1, H);
        vm.expectRevert(abi.encodeWithSelector(EvaluationLog.WrongFee.selector, FEE + 1, FEE));
        log.openWindow{value: FEE + 1}(address(pool), block.timestamp + 1, H);
        vm.stopPrank();
    }

    function test_revert_HistoryUnavailable_and_ZeroBasePrice() public {
        MemeToken fresh = new MemeToken("New", "NEW");
        fresh.mint(address(this), 1e40);
        ConstantProductPool p = ConstantProductPool(factory.createPool(address(fresh)));
        fresh.approve(address(p), type(uint256).max);
        quote.approve(address(p), type(uint256).max);
        p.addLiquidity(1, 1e19); // spot price 1 * 1e18 / 1e19 = 0
        vm.startPrank(REQUESTER);
        vm.expectRevert(abi.encodeWithSelector(EvaluationLog.HistoryUnavailable.selector, address(p), block.timestamp));
        log.openWindow{value: FEE}(address(p), block.timestamp + 1, H);
        vm.warp(block.timestamp + 50);
        vm.expectRevert(abi.encodeWithSelector(EvaluationLog.ZeroBasePrice.selector, address(p)));
        log.openWindow{value: FEE}(address(p), block.timestamp + 1, H);
        vm.stopPrank();
    }

    function test_revert_UnknownWindow_and_UnknownEvaluation() public {
        vm.expectRevert(abi.encodeWithSelector(EvaluationLog.UnknownWindow.selector, 7));
        log.commit(7, SALT);
        vm.expectRevert(abi.encodeWithSelector(EvaluationLog.UnknownWindow.selector, 7));
        log.getWindow(7);
        vm.expectRevert(abi.encodeWithSelector(EvaluationLog.UnknownWindow.selector, 7));
        log.checkpoint(7);
        vm.expectRevert(abi.encodeWithSelector(EvaluationLog.UnknownEvaluation.selector, 0));
        log.getEvaluation(0);
        vm.expectRevert(abi.encodeWithSelector(EvaluationLog.UnknownEvaluation.selector, 3));
        log.resolve(3);
    }

    function test_revert_ZeroCommitment() public {
        vm.prank(DETECTOR);
        vm.expectRevert(EvaluationLog.ZeroCommitment.selector);
        log.commit(wid, bytes32(0));
    }

    function test_revert_WindowClosed() public {
        vm.warp(t0);
        bytes32 c = log.computeCommitment(wid, DETECTOR, 1, 1, MODEL, SALT);
        vm.prank(DETECTOR);
        vm.expectRevert(abi.encodeWithSelector(EvaluationLog.WindowClosed.selector, wid, t0));
        log.commit(wid, c);
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
        uint256 late = _commitAs(OTHER, wid, 0, 0);
        _resolveAt(id, t0 + H);
        vm.expectRevert(abi.encodeWithSelector(EvaluationLog.WrongStatus.selector, id, EvaluationLog.Status.Resolved));
        log.resolve(id);
        log.resolve(late);
        vm.prank(OTHER);
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
        vm.expectRevert(abi.encodeWithSelector(EvaluationLog.PageTooLarge.selector, 101, 100));
        log.getWindows(0, 101);
    }

    function test_revert_ZeroAddress_and_TransferFailed() public {
        vm.expectRevert(EvaluationLog.ZeroAddress.selector);
        log.setTreasury(address(0));
        log.setTreasury(address(pool)); // a contract without a payable fallback
        vm.expectRevert(EvaluationLog.TransferFailed.selector);
        log.withdrawFees();
        assertEq(log.feesAccrued(), FEE, "fees stay until a treasury can take them");
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
        vm.prank(REQUESTER);
        uint256 w2 = log.openWindow{value: FEE}(address(p), block.timestamp + 1, H);
        uint256 id = _commitAs(DETECTOR, w2, 1, 1);
        uint256 start = block.timestamp + 1;
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
