// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {SymphonyFixture} from "./utils/SymphonyFixture.sol";
import {Vectors} from "./utils/Vectors.sol";
import {CapabilityLedger} from "../../contracts/CapabilityLedger.sol";
import {ICapabilityLedger} from "../../contracts/interfaces/ICapabilityLedger.sol";
import {CapabilityMath} from "../../contracts/lib/CapabilityMath.sol";

/// @notice An agent implemented as a contract that refuses ETH, to exercise TransferFailed.
contract EthRefusingAgent {
    function join(CapabilityLedger ledger, bytes32 capability) external payable {
        ledger.register{value: msg.value}("refuser", "m", "e", new string[](0), capability, 1);
        ledger.deregister();
    }

    function withdraw(CapabilityLedger ledger) external {
        ledger.withdrawStake();
    }
}

/// @notice External wrapper so fuzz tests can call the internal library math.
contract MathHarness {
    function cosine(bytes32 a, bytes32 b) external pure returns (uint256) {
        return CapabilityMath.cosine(a, CapabilityMath.norm(a), b, CapabilityMath.norm(b));
    }

    function norm(bytes32 v) external pure returns (uint64) {
        return CapabilityMath.norm(v);
    }

    function sqrt(uint256 x) external pure returns (uint256) {
        return CapabilityMath.sqrt(x);
    }
}

/// @notice Reference of docs/protocol.md "Score": T = (s + 2·G) / (s + f + 2), G = (S + 1) / (S + F + 2).
library TrustSpec {
    function trust(uint256 s, uint256 f, uint256 gS, uint256 gF) internal pure returns (uint256) {
        uint256 g = ((gS + 1) * 1e18) / (gS + gF + 2);
        return (s * 1e18 + 2 * g) / (s + f + 2);
    }
}

contract CapabilityLedgerTest is SymphonyFixture {
    address internal alice;
    address internal bob;
    bytes32 internal capA;
    bytes32 internal capB;
    MathHarness internal math;
    bytes32 internal constant KIND = keccak256("kind-a");
    bytes32 internal constant OTHER_KIND = keccak256("kind-b");

    function setUp() public override {
        super.setUp();
        alice = _agent(1);
        bob = _agent(2);
        capA = Vectors.set(Vectors.unit(0, 3), 1, 4); // (3, 4, 0, ...): norm 5e6
        capB = Vectors.unit(2, 50);
        math = new MathHarness();
        ledger.setAuthorized(address(this), true); // the test contract acts as a protocol contract
    }

    // ------------------------------------------------------------------ register

    function test_register_storesProfileAndCountsAsHeartbeat() public {
        vm.expectEmit(true, false, false, true, address(ledger));
        emit ICapabilityLedger.AgentRegistered(
            alice, "agent", "smollm2-135m", "http://127.0.0.1:8000", _tags(), capA, 5e6, MIN_STAKE, 4
        );
        _register(alice, capA);
        ICapabilityLedger.AgentInfo memory a = ledger.getAgent(alice);
        assertEq(a.agent, alice, "agent");
        assertEq(a.capability, capA, "vector counts at once on a first registration");
        assertEq(uint256(a.norm), 5e6, "norm");
        assertEq(uint256(a.stake), MIN_STAKE, "stake");
        assertEq(uint256(a.reputation), 1e18, "initial reputation");
        assertEq(uint256(a.capacity), 4, "capacity");
        assertEq(uint256(a.freeCapacity), 4, "free capacity");
        assertTrue(a.available && a.active, "available and active");
        assertEq(a.tags.length, 2, "tags");
        assertEq(uint256(a.pendingAt), 0, "nothing pending");
        assertEq(ledger.activeAgentCount(), 1, "counted");
        assertTrue(ledger.isAvailable(alice), "may bid");
        assertEq(ledger.stakeOf(alice), MIN_STAKE, "stakeOf");
    }

    function test_register_validates() public {
        vm.deal(alice, 10 ether);
        vm.startPrank(alice);
        vm.expectRevert(abi.encodeWithSelector(ICapabilityLedger.InsufficientStake.selector, MIN_STAKE - 1, MIN_STAKE));
        ledger.register{value: MIN_STAKE - 1}("a", "m", "e", _tags(), capA, 1);
        vm.expectRevert(ICapabilityLedger.ZeroCapability.selector);
        ledger.register{value: MIN_STAKE}("a", "m", "e", _tags(), bytes32(0), 1);
        vm.expectRevert(ICapabilityLedger.InvalidCapacity.selector);
        ledger.register{value: MIN_STAKE}("a", "m", "e", _tags(), capA, 0);
        vm.expectRevert(ICapabilityLedger.InvalidCapacity.selector);
        ledger.register{value: MIN_STAKE}("a", "m", "e", _tags(), capA, 70_000);
        string[] memory many = new string[](17);
        vm.expectRevert(abi.encodeWithSelector(ICapabilityLedger.TooManyTags.selector, 17, 16));
        ledger.register{value: MIN_STAKE}("a", "m", "e", many, capA, 1);
        bytes memory long = new bytes(257);
        vm.expectRevert(abi.encodeWithSelector(ICapabilityLedger.StringTooLong.selector, 257, 256));
        ledger.register{value: MIN_STAKE}(string(long), "m", "e", _tags(), capA, 1);
        ledger.register{value: MIN_STAKE}("a", "m", "e", _tags(), capA, 1);
        vm.expectRevert(abi.encodeWithSelector(ICapabilityLedger.AlreadyRegistered.selector, alice));
        ledger.register{value: MIN_STAKE}("a", "m", "e", _tags(), capA, 1);
        vm.stopPrank();
    }

    // ------------------------------------------------------------------ profile changes (attack 1)

    /// @notice Attack 1 (v1: `update(vector = requirement)` and `bid` in one transaction): a vector change only
    ///         counts PROFILE_DELAY later, and the delay is longer than any bid window.
    function test_vectorChange_countsOnlyAfterDelayLongerThanAnyBidWindow() public {
        _register(alice, capA);
        assertGt(uint256(ledger.PROFILE_DELAY()), uint256(beacon.MAX_BID_WINDOW()), "delay > any bid window");
        vm.prank(alice);
        ledger.update("m2", "e2", _tags(), capB, 2);
        ICapabilityLedger.AgentInfo memory a = ledger.getAgent(alice);
        assertEq(a.capability, capA, "old vector still counts");
        assertEq(a.pendingCapability, capB, "new vector scheduled");
        assertEq(uint256(a.pendingAt), T0 + ledger.PROFILE_DELAY(), "at now + delay");
        assertEq(a.modelId, "m2", "model id changes at once");
        assertEq(uint256(a.capacity), 2, "capacity changes at once");
        assertEq(ledger.matchScore(alice, capB), 0, "the claimed vector cannot win a bid yet");
        vm.warp(T0 + ledger.PROFILE_DELAY() - 1);
        assertEq(ledger.matchScore(alice, capB), 0, "not one second early");
        vm.warp(T0 + ledger.PROFILE_DELAY());
        assertEq(ledger.matchScore(alice, capB), 1e18, "counts once due");
        assertEq(ledger.getAgent(alice).capability, capB, "view shows it");
        assertEq(uint256(ledger.getAgent(alice).epoch), 1, "new epoch");
    }

    function test_update_reschedulingRules() public {
        _register(alice, capA);
        vm.startPrank(alice);
        ledger.update("m", "e", _tags(), capB, 4);
        uint256 at = ledger.getAgent(alice).pendingAt;
        vm.warp(T0 + 100);
        ledger.update("m", "e", _tags(), capB, 4); // a restarted agent re-sending the same change
        assertEq(uint256(ledger.getAgent(alice).pendingAt), at, "same change keeps its time");
        ledger.update("m", "e", new string[](0), capB, 4); // tags differ: scheduled anew
        assertEq(uint256(ledger.getAgent(alice).pendingAt), T0 + 100 + ledger.PROFILE_DELAY(), "rescheduled");
        ledger.update("m", "e", _tags(), capA, 4); // back to the effective profile: nothing pending
        assertEq(uint256(ledger.getAgent(alice).pendingAt), 0, "cancelled");
        vm.warp(T0 + 10 days);
        assertEq(ledger.getAgent(alice).capability, capA, "the cancelled change never lands");
        assertEq(uint256(ledger.getAgent(alice).epoch), 0, "no epoch change");
        vm.stopPrank();
    }

    /// @notice A profile change does not carry successes over (they were earned as somebody else), but failures
    ///         stay: changing the declared vector never whitewashes a bad record.
    function test_profileChange_dropsSuccessesKeepsFailures() public {
        _register(alice, capA);
        for (uint256 i; i < 4; ++i) {
            ledger.recordEvidence(alice, KIND, true);
        }
        ledger.recordEvidence(alice, KIND, false);
        (uint32 s, uint32 f) = ledger.evidenceOf(alice, KIND);
        assertEq(uint256(s), 4, "successes");
        assertEq(uint256(f), 1, "failures");
        uint256 before = ledger.trustOf(alice, KIND);
        vm.prank(alice);
        ledger.update("m", "e", _tags(), capB, 4);
        vm.warp(T0 + ledger.PROFILE_DELAY());
        (s, f) = ledger.evidenceOf(alice, KIND);
        assertEq(uint256(s), 0, "successes do not carry over");
        assertEq(uint256(f), 1, "failures do");
        assertLt(ledger.trustOf(alice, KIND), 0.5e18, "worse than a newcomer");
        assertLt(ledger.trustOf(alice, KIND), before, "and worse than before");
        ledger.recordEvidence(alice, KIND, true); // writes the due change back, then counts in the new epoch
        (s, f) = ledger.evidenceOf(alice, KIND);
        assertEq(uint256(s), 1, "new epoch counts");
        ICapabilityLedger.AgentInfo memory a = ledger.getAgent(alice);
        assertEq(uint256(a.successes), 1, "global successes reset");
        assertEq(uint256(a.failures), 1, "global failures kept");
    }

    /// @notice Re-registering does not dodge the delay either: a returning agent's new vector is scheduled.
    function test_reRegister_keepsRecordAndSchedulesNewVector() public {
        _register(alice, capA);
        ledger.recordEvidence(alice, KIND, false);
        ledger.adjustReputation(alice, -0.2e18);
        vm.prank(alice);
        ledger.deregister();
        vm.warp(T0 + COOLDOWN);
        vm.prank(alice);
        ledger.withdrawStake();
        vm.prank(alice);
        ledger.register{value: MIN_STAKE}("again", "m", "e", _tags(), capB, 1);
        ICapabilityLedger.AgentInfo memory a = ledger.getAgent(alice);
        assertEq(uint256(a.reputation), 0.8e18, "reputation kept");
        assertEq(uint256(a.failures), 1, "failures kept");
        assertEq(a.capability, capA, "old vector until the delay is over");
        assertEq(a.pendingCapability, capB, "new one scheduled");
    }

    // ------------------------------------------------------------------ heartbeat, capacity, stake

    function test_heartbeat_setsAvailabilityOnly() public {
        _register(alice, capA);
        vm.prank(alice);
        ledger.heartbeat(false);
        assertFalse(ledger.isAvailable(alice), "unavailable");
        vm.prank(alice);
        ledger.heartbeat(true);
        assertTrue(ledger.isAvailable(alice), "available");
        vm.expectRevert(abi.encodeWithSelector(ICapabilityLedger.NotRegistered.selector, bob));
        vm.prank(bob);
        ledger.heartbeat(true);
    }

    /// @notice Attack 4: capacity is the ledger's own count. A reservation takes a unit, a release gives it back;
    ///         an agent at capacity cannot take (or bid for) more, whatever it reports.
    function test_capacity_consumedByReserveRestoredByRelease() public {
        vm.deal(alice, 10 ether);
        vm.prank(alice);
        ledger.register{value: MIN_STAKE}("a", "m", "e", _tags(), capA, 1);
        assertTrue(ledger.reserve(alice, 0), "first unit");
        assertTrue(ledger.isAvailable(alice), "full but may still bid: assignment checks capacity");
        assertEq(uint256(ledger.getAgent(alice).freeCapacity), 0, "free capacity 0");
        assertFalse(ledger.reserve(alice, 0), "no second unit");
        vm.prank(alice);
        ledger.heartbeat(true); // reporting itself available changes nothing
        assertFalse(ledger.reserve(alice, 0), "still full");
        ledger.release(alice);
        assertEq(uint256(ledger.getAgent(alice).freeCapacity), 1, "restored");
        ledger.release(alice); // no-op below zero
        assertEq(uint256(ledger.getAgent(alice).freeCapacity), 1, "never above capacity");
    }

    /// @notice Every concurrent assignment is backed by slashUnit of stake: a declared capacity of 64 on the
    ///         minimum stake holds only 10 assignments at once.
    function test_capacity_boundedByStakeCollateral() public {
        vm.deal(alice, 10 ether);
        vm.prank(alice);
        ledger.register{value: MIN_STAKE}("a", "m", "e", _tags(), capA, 64);
        uint256 taken;
        while (ledger.reserve(alice, 0)) ++taken;
        assertEq(taken, MIN_STAKE / ledger.slashUnit(), "stake / slashUnit assignments");
        vm.prank(alice);
        ledger.addStake{value: MIN_STAKE}();
        assertTrue(ledger.reserve(alice, 0), "more stake backs more");
    }

    function test_reputationGate() public {
        _register(alice, capA);
        ledger.adjustReputation(alice, -0.51e18);
        assertFalse(ledger.isAvailable(alice), "below 0.5 may not bid");
        assertFalse(ledger.reserve(alice, 0), "nor be assigned");
        ledger.adjustReputation(alice, 0.01e18);
        assertTrue(ledger.isAvailable(alice), "at 0.5 it may");
    }

    function test_slash_movesUpToStakeAndBurnsOrPays() public {
        _register(alice, capA);
        uint256 taken = ledger.slash(alice, 0.3 ether, address(0));
        assertEq(taken, 0.3 ether, "taken");
        assertEq(ledger.burnedStake(), 0.3 ether, "burned");
        assertEq(ledger.stakeOf(alice), 0.7 ether, "stake reduced");
        uint256 before = bob.balance;
        taken = ledger.slash(alice, 5 ether, bob);
        assertEq(taken, 0.7 ether, "capped at the stake");
        assertEq(bob.balance - before, 0.7 ether, "paid to `to`");
        assertEq(ledger.slash(alice, 1, address(0)), 0, "nothing left");
        assertFalse(ledger.isAvailable(alice), "no stake: may not bid");
        assertEq(address(ledger).balance, 0.3 ether, "burned stake stays locked");
    }

    function test_protocolHooks_authorisedOnly() public {
        _register(alice, capA);
        vm.startPrank(bob);
        bytes memory err = abi.encodeWithSelector(ICapabilityLedger.NotAuthorized.selector, bob);
        vm.expectRevert(err);
        ledger.adjustReputation(alice, 1);
        vm.expectRevert(err);
        ledger.recordEvidence(alice, KIND, true);
        vm.expectRevert(err);
        ledger.slash(alice, 1, bob);
        vm.expectRevert(err);
        ledger.reserve(alice, 0);
        vm.expectRevert(err);
        ledger.release(alice);
        vm.expectRevert(abi.encodeWithSelector(ICapabilityLedger.NotOwner.selector, bob));
        ledger.setAuthorized(bob, true);
        vm.stopPrank();
        vm.expectRevert(abi.encodeWithSelector(ICapabilityLedger.NotRegistered.selector, bob));
        ledger.recordEvidence(bob, KIND, true);
    }

    function test_deregisterAndWithdraw_afterCooldownAndAssignments() public {
        _register(alice, capA);
        assertTrue(ledger.reserve(alice, 0), "holds an assignment");
        vm.startPrank(alice);
        vm.expectRevert(abi.encodeWithSelector(ICapabilityLedger.AgentStillActive.selector, alice));
        ledger.withdrawStake();
        ledger.deregister();
        vm.expectRevert(abi.encodeWithSelector(ICapabilityLedger.CooldownActive.selector, uint64(T0 + COOLDOWN)));
        ledger.withdrawStake();
        vm.warp(T0 + COOLDOWN);
        vm.expectRevert(abi.encodeWithSelector(ICapabilityLedger.AssignmentsOpen.selector, alice, 1));
        ledger.withdrawStake();
        vm.stopPrank();
        ledger.release(alice);
        uint256 before = alice.balance;
        vm.prank(alice);
        ledger.withdrawStake();
        assertEq(alice.balance - before, MIN_STAKE, "stake back");
        vm.expectRevert(ICapabilityLedger.NothingToWithdraw.selector);
        vm.prank(alice);
        ledger.withdrawStake();
    }

    function test_withdraw_revertsTransferFailed_andKeepsStake() public {
        EthRefusingAgent r = new EthRefusingAgent();
        r.join{value: MIN_STAKE}(ledger, capA);
        vm.warp(T0 + COOLDOWN);
        vm.expectRevert(ICapabilityLedger.TransferFailed.selector);
        r.withdraw(ledger);
        assertEq(ledger.stakeOf(address(r)), MIN_STAKE, "kept");
    }

    function test_addStake_validates() public {
        _register(alice, capA);
        vm.expectRevert(abi.encodeWithSelector(ICapabilityLedger.InvalidStake.selector, 0));
        vm.prank(alice);
        ledger.addStake();
        vm.deal(bob, 1 ether);
        vm.expectRevert(abi.encodeWithSelector(ICapabilityLedger.NotRegistered.selector, bob));
        vm.prank(bob);
        ledger.addStake{value: 1}();
    }

    // ------------------------------------------------------------------ paging (attack 9)

    /// @notice Attack 9 (v1: a page scanned every address ever registered): the active set is swap-and-pop, so a
    ///         page costs the same whatever number of agents came and went before.
    function test_getActiveAgents_pagesTheActiveSetOnly_costIndependentOfHistory() public {
        for (uint256 i; i < 60; ++i) {
            _register(_agent(100 + i), capA);
        }
        for (uint256 i; i < 55; ++i) {
            vm.prank(_agent(100 + i));
            ledger.deregister();
        }
        assertEq(ledger.activeAgentCount(), 5, "five left");
        uint256 g0 = gasleft();
        ICapabilityLedger.AgentInfo[] memory page = ledger.getActiveAgents(0, 50);
        uint256 churned = g0 - gasleft();
        assertEq(page.length, 5, "only the active");
        for (uint256 i; i < page.length; ++i) {
            assertTrue(page[i].active, "active");
            assertGe(uint256(uint160(page[i].agent)), 1, "real agent");
        }
        // A fresh ledger with the same five active agents and no history: the same cost.
        CapabilityLedger fresh = new CapabilityLedger(MIN_STAKE, COOLDOWN);
        for (uint256 i; i < 5; ++i) {
            vm.deal(_agent(200 + i), MIN_STAKE);
            vm.prank(_agent(200 + i));
            fresh.register{value: MIN_STAKE}("agent", "smollm2-135m", "http://127.0.0.1:8000", _tags(), capA, 4);
        }
        g0 = gasleft();
        fresh.getActiveAgents(0, 50);
        uint256 clean = g0 - gasleft();
        assertLe(churned, clean + clean / 10, "history does not cost");
        assertEq(ledger.getActiveAgents(5, 50).length, 0, "past the end");
        assertEq(ledger.getActiveAgents(2, 2).length, 2, "limit");
    }

    // ------------------------------------------------------------------ score (attacks 1, 2)

    function test_newcomerTrustIsOneHalf_andNewcomerFlag() public {
        _register(alice, capA);
        assertEq(ledger.trustOf(alice, KIND), 0.5e18, "prior 1/2");
        (bool ok, uint64 score, bool newcomer) = ledger.bidScore(alice, capA, KIND);
        assertTrue(ok && newcomer, "eligible newcomer");
        assertEq(uint256(score), ledger.matchScore(alice, capA) / 2, "score = match / 2");
        for (uint256 i; i < 3; ++i) {
            ledger.recordEvidence(alice, OTHER_KIND, true);
        }
        (,, newcomer) = ledger.bidScore(alice, capA, KIND);
        assertFalse(newcomer, "three verified outcomes: no longer a newcomer");
    }

    /// @notice The score is match · T with T exactly the documented formula, for any record.
    function testFuzz_trustMatchesTheDocumentedFormula(uint8 sRaw, uint8 fRaw, uint8 otherS, uint8 otherF) public {
        _register(alice, capA);
        uint256 s = bound(sRaw, 0, 12);
        uint256 f = bound(fRaw, 0, 12);
        uint256 os = bound(otherS, 0, 6);
        uint256 oF = bound(otherF, 0, 6);
        for (uint256 i; i < s; ++i) ledger.recordEvidence(alice, KIND, true);
        for (uint256 i; i < f; ++i) ledger.recordEvidence(alice, KIND, false);
        for (uint256 i; i < os; ++i) ledger.recordEvidence(alice, OTHER_KIND, true);
        for (uint256 i; i < oF; ++i) ledger.recordEvidence(alice, OTHER_KIND, false);
        uint256 t = TrustSpec.trust(s, f, s + os, f + oF);
        assertEq(ledger.trustOf(alice, KIND), t, "trust formula");
        (, uint64 score,) = ledger.bidScore(alice, capA, KIND);
        assertEq(uint256(score), (ledger.matchScore(alice, capA) * t) / 1e18, "score = match * T");
        assertLt(t, 1e18, "T < 1");
        assertGt(t, 0, "T > 0");
    }

    /// @notice Every verified failure strictly lowers the trust of that kind, every success strictly raises it.
    function testFuzz_trustMovesWithEvidence(uint8 history, bool success) public {
        _register(alice, capA);
        uint256 n = bound(history, 0, 20);
        for (uint256 i; i < n; ++i) ledger.recordEvidence(alice, KIND, i % 3 != 0);
        uint256 before = ledger.trustOf(alice, KIND);
        ledger.recordEvidence(alice, KIND, success);
        uint256 afterwards = ledger.trustOf(alice, KIND);
        if (success) assertGt(afterwards, before, "success raises");
        else assertLt(afterwards, before, "failure lowers");
    }

    /// @notice Attacks 1 and 2, the attacker's view: a perfect-match claim (a copied requirement, or a vector at
    ///         the mean of all requirements) from an agent whose work failed `f` ≥ 1 times scores below a
    ///         specialist with a clean record of ≥ 3 successes and a match ≥ 0.75, however good the claim looks.
    function testFuzz_verifiedRecordOutweighsClaimedMatch(uint8 fRaw, uint8 sRaw, uint8 matchRaw) public {
        uint256 f = bound(fRaw, 1, 10);
        uint256 s = bound(sRaw, 3, 30);
        // specialist vector: e0·100 + e1·y, match with e0 = 100 / sqrt(100² + y²) ≥ 0.75 for y ≤ 88
        int8 y = int8(int256(bound(matchRaw, 0, 88)));
        bytes32 requirement = Vectors.unit(0, 100);
        _register(alice, requirement); // the liar copies the requirement exactly: match 1.0
        _register(bob, Vectors.set(Vectors.unit(0, 100), 1, y));
        for (uint256 i; i < f; ++i) ledger.recordEvidence(alice, KIND, false);
        for (uint256 i; i < s; ++i) ledger.recordEvidence(bob, KIND, true);
        (, uint64 liar,) = ledger.bidScore(alice, requirement, KIND);
        (, uint64 specialist,) = ledger.bidScore(bob, requirement, KIND);
        assertEq(ledger.matchScore(alice, requirement), 1e18, "the liar's claim is perfect");
        assertGe(ledger.matchScore(bob, requirement), 0.75e18, "the specialist's is merely good");
        assertGt(uint256(specialist), uint256(liar), "evidence wins");
    }

    // ------------------------------------------------------------------ math

    function testFuzz_matchScore_symmetricAndBounded(bytes32 a, bytes32 b) public view {
        a = Vectors.sanitize(a);
        b = Vectors.sanitize(b);
        uint256 ab = math.cosine(a, b);
        assertEq(ab, math.cosine(b, a), "symmetric");
        assertLe(ab, 1e18, "bounded by 1");
        if (a != bytes32(0)) assertGe(math.cosine(a, a), 1e18 - 1e6, "self-match ~1");
    }

    /// @notice Attack 1's second half: a scaled copy of the requirement scores exactly like the copy.
    function testFuzz_matchScore_scaleInvariant(bytes32 a, uint8 idx, int8 x, uint8 factor) public view {
        uint256 i = bound(idx, 0, 31);
        int256 c = int256(bound(uint8(x), 1, 12));
        int256 f = int256(bound(factor, 1, 10));
        a = Vectors.sanitize(a);
        vm.assume(a != bytes32(0));
        assertEq(math.cosine(a, Vectors.unit(i, int8(c))), math.cosine(a, Vectors.unit(i, int8(c * f))), "scale invariant");
    }

    function testFuzz_norm_isFloorSqrt(bytes32 v) public view {
        v = Vectors.sanitize(v);
        uint256 sq;
        for (uint256 i; i < 32; ++i) {
            int256 c = CapabilityMath.component(v, i);
            sq += uint256(c * c);
        }
        uint256 n = math.norm(v);
        assertLe(n * n, sq * 1e12, "n^2 <= x");
        assertGt((n + 1) * (n + 1), sq * 1e12, "(n+1)^2 > x");
    }

    function testFuzz_sqrt_floor(uint256 x) public view {
        x = bound(x, 0, type(uint128).max);
        uint256 r = math.sqrt(x);
        assertLe(r * r, x, "r^2 <= x");
        assertGt((r + 1) * (r + 1), x, "(r+1)^2 > x");
    }

    function testFuzz_adjustReputation_staysInRange(int256[5] memory deltas) public {
        _register(alice, capA);
        int256 expected = 1e18;
        for (uint256 i; i < 5; ++i) {
            int256 d = deltas[i];
            ledger.adjustReputation(alice, d);
            if (d >= 2e18) expected = 2e18;
            else if (d <= -2e18) expected = 0;
            else expected = expected + d < 0 ? int256(0) : (expected + d > 2e18 ? int256(2e18) : expected + d);
            assertEq(uint256(ledger.reputationOf(alice)), uint256(expected), "clamped reputation");
        }
    }

    function test_ownerOnly_andTransfer() public {
        ledger.transferOwnership(bob);
        vm.expectRevert(abi.encodeWithSelector(ICapabilityLedger.NotOwner.selector, address(this)));
        ledger.setAuthorized(alice, true);
        vm.prank(bob);
        ledger.setAuthorized(alice, true);
        assertTrue(ledger.authorized(alice), "new owner authorises");
    }
}
