// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {LogFixture} from "./utils/LogFixture.sol";
import {RecordingLedger, RefusingLedger, V1Ledger} from "./utils/Ledgers.sol";
import {EvaluationLog} from "../../../contracts/hideshill/EvaluationLog.sol";
import {IEvidenceLedger} from "../../../contracts/hideshill/IEvidenceLedger.sol";
import {CapabilityLedger} from "../../../contracts/CapabilityLedger.sol";

/// @notice The ledger side of a resolution: the reputation moving average, evidence records, and the rule that a
///         misconfigured ledger never blocks a resolution. One suite runs against the real CapabilityLedger.
contract EvaluationLogLedgerTest is LogFixture {
    event EvidenceFailed(uint256 indexed id, address indexed detector, bool success, bytes reason);
    event ReputationAdjustmentFailed(uint256 indexed id, address indexed detector, int256 delta, bytes reason);

    function test_resolutionRecordsEvidenceAndMovesReputation() public {
        uint256 id = _commitReveal(1);
        _pumpAndDump();
        _resolveAt(id, t0 + H);
        assertEq(ledger.calls(), 1, "one reputation call");
        assertEq(ledger.lastAgent(), DETECTOR, "agent");
        // A true positive (+10) pulls reputation 1/8 of the way from 1.0 to its target 2.0.
        assertEq(ledger.lastDelta(), (2e18 - 1e18) / 8, "delta = (target - current) / steps");
        (address agent, bytes32 kind, bool success) = ledger.evidence(0);
        assertTrue(agent == DETECTOR && kind == keccak256("hideshill-detection") && success, "success evidence");
        assertEq(ledger.slashCount(), 0, "no slash without a self-trade");
    }

    function test_evidenceIsAFailureForEveryNonPositiveOutcome() public {
        uint256 fn = _commitReveal(0); // a manipulation follows: FN
        uint256 expired = _commitAs(OTHER, wid, 1, 1); // never revealed
        _pumpAndDump();
        vm.warp(t0 + H);
        log.resolve(fn);
        log.resolve(expired);
        (, , bool s0) = ledger.evidence(0);
        (, , bool s1) = ledger.evidence(1);
        assertTrue(!s0 && !s1, "FN and expiry are failures");
    }

    function testFuzz_reputationConvergesToTheTarget(uint8 rounds) public {
        // Repeated true negatives move any reputation towards 1.1 and never past it.
        uint256 n = bound(rounds, 1, 12);
        uint256 previous = 1e18;
        for (uint256 i; i < n; ++i) {
            (uint256 w,) = _open(LEAD);
            uint256 id = _commitRevealAs(DETECTOR, w, 0);
            _resolveAt(id, block.timestamp + LEAD + H);
            uint256 r = ledger.reputationOf(DETECTOR);
            assertGt(r, previous, "moves up towards 1.1");
            assertLe(r, 1.1e18, "never past the target");
            previous = r;
        }
    }

    function test_refusingLedgerDoesNotBlockResolve() public {
        RefusingLedger refusing = new RefusingLedger();
        refusing.register(DETECTOR, 0);
        log.setLedger(IEvidenceLedger(address(refusing)));
        (uint256 w,) = _open(LEAD);
        uint256 id = _commitRevealAs(DETECTOR, w, 1);
        vm.warp(block.timestamp + 1);
        vm.prank(DETECTOR);
        pool.swap(true, 1e18, 0, DETECTOR); // self-trade: the slash is refused too
        EvaluationLog.Evaluation memory e = _resolveAt(id, block.timestamp + LEAD + H);
        assertTrue(e.status == EvaluationLog.Status.Voided, "resolved anyway");
    }

    /// @notice A ledger repointed at an address without code (e.g. an EOA) is logged, not fatal.
    function test_ledgerWithoutCodeDoesNotBlockResolve() public {
        uint256 id = _commitReveal(0);
        log.setLedger(IEvidenceLedger(address(0xE0A)));
        vm.warp(t0 + H);
        vm.expectEmit(true, true, false, true, address(log));
        emit ReputationAdjustmentFailed(id, DETECTOR, 0, bytes("ledger has no code"));
        log.resolve(id);
        assertTrue(log.getEvaluation(id).status == EvaluationLog.Status.Resolved, "resolved");
    }

    /// @notice Against a v1 ledger (no recordEvidence, no slash, no stakeOf) resolution still moves reputation and
    ///         logs what it could not do.
    function test_v1LedgerStillGetsReputation() public {
        V1Ledger v1 = new V1Ledger(MIN_STAKE);
        v1.register(DETECTOR, 0);
        log.setLedger(IEvidenceLedger(address(v1)));
        (uint256 w,) = _open(LEAD);
        uint256 id = _commitRevealAs(DETECTOR, w, 0);
        vm.warp(block.timestamp + LEAD + H);
        vm.expectEmit(true, true, false, true, address(log));
        emit EvidenceFailed(id, DETECTOR, true, "");
        log.resolve(id);
        assertEq(v1.calls(), 1, "reputation moved");
        assertEq(v1.reputationOf(DETECTOR), 1e18 + (1.1e18 - 1e18) / 8, "towards 1.1");
    }
}

/// @notice Integration with the real CapabilityLedger: a registered, staked detector commits; resolution moves its
///         reputation on the ledger (the log is an authorised protocol contract). Evidence and slashing are
///         whatever this ledger supports — a ledger without them only logs the failure.
contract EvaluationLogRealLedgerTest is LogFixture {
    CapabilityLedger internal real;

    function setUp() public override {
        super.setUp();
        real = new CapabilityLedger(MIN_STAKE, 60);
        vm.deal(DETECTOR, 1 ether);
        string[] memory tags = new string[](1);
        tags[0] = "hideshill-detector";
        vm.prank(DETECTOR);
        real.register{value: MIN_STAKE}("det", "rule", "", tags, bytes32(uint256(1) << 248), 1);
        log.setLedger(IEvidenceLedger(address(real)));
    }

    function test_realLedgerReputationMovesOnResolve() public {
        real.setAuthorized(address(log), true);
        uint256 id = _commitReveal(1);
        _pumpAndDump();
        _resolveAt(id, t0 + H);
        assertEq(real.reputationOf(DETECTOR), 1e18 + (2e18 - 1e18) / 8, "TP pulls 1/8 of the way to 2.0");
    }

    function test_unauthorisedLogStillResolves() public {
        uint256 id = _commitReveal(1);
        _pumpAndDump();
        EvaluationLog.Evaluation memory e = _resolveAt(id, t0 + H);
        assertEq(e.score, 10, "scored");
        assertEq(real.reputationOf(DETECTOR), 1e18, "the ledger refused, nothing moved");
    }

    function test_unregisteredAgentOfTheRealLedgerCannotCommit() public {
        bytes32 c = log.computeCommitment(wid, OTHER, 1, 1, MODEL, SALT);
        vm.prank(OTHER);
        vm.expectRevert(abi.encodeWithSelector(EvaluationLog.NotRegisteredDetector.selector, OTHER));
        log.commit(wid, c);
    }
}
