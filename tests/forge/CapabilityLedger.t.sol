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

contract CapabilityLedgerTest is SymphonyFixture {
    address internal alice;
    address internal bob;
    bytes32 internal capA;
    MathHarness internal math;

    function setUp() public override {
        super.setUp();
        alice = _agent(1);
        bob = _agent(2);
        capA = Vectors.set(Vectors.unit(0, 3), 1, 4); // (3, 4, 0, ...): norm 5e6
        math = new MathHarness();
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
        assertEq(a.name, "agent", "name");
        assertEq(a.modelId, "smollm2-135m", "modelId");
        assertEq(a.endpoint, "http://127.0.0.1:8000", "endpoint");
        assertEq(a.tags.length, 2, "tags");
        assertEq(a.tags[1], "code", "tag 1");
        assertEq(a.capability, capA, "capability");
        assertEq(a.norm, 5e6, "norm = 5 * 1e6");
        assertEq(a.stake, MIN_STAKE, "stake");
        assertEq(a.reputation, 1e18, "initial reputation");
        assertEq(a.capacity, 4, "capacity");
        assertEq(a.freeCapacity, 4, "free capacity = capacity");
        assertTrue(a.available && a.active, "available and active");
        assertEq(a.lastHeartbeat, T0, "heartbeat time");
        assertEq(a.unlockAt, 0, "unlockAt");
        assertTrue(ledger.isAvailable(alice), "isAvailable");
        assertEq(ledger.activeAgentCount(), 1, "count");
        assertEq(address(ledger).balance, MIN_STAKE, "stake held");
    }

    function test_register_revertsInsufficientStake() public {
        vm.deal(alice, 1 ether);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ICapabilityLedger.InsufficientStake.selector, 0.5 ether, MIN_STAKE));
        ledger.register{value: 0.5 ether}("a", "m", "e", _tags(), capA, 1);
    }

    function test_register_revertsAlreadyRegistered_whileActiveOrStaked() public {
        _register(alice, capA);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ICapabilityLedger.AlreadyRegistered.selector, alice));
        ledger.register{value: MIN_STAKE}("a", "m", "e", _tags(), capA, 1);
        vm.prank(alice);
        ledger.deregister();
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ICapabilityLedger.AlreadyRegistered.selector, alice));
        ledger.register{value: MIN_STAKE}("a", "m", "e", _tags(), capA, 1);
    }

    function test_register_revertsZeroCapability() public {
        vm.deal(alice, 1 ether);
        vm.prank(alice);
        vm.expectRevert(ICapabilityLedger.ZeroCapability.selector);
        ledger.register{value: MIN_STAKE}("a", "m", "e", _tags(), bytes32(0), 1);
    }

    function test_register_revertsTooManyTags() public {
        vm.deal(alice, 1 ether);
        string[] memory tags = new string[](17);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ICapabilityLedger.TooManyTags.selector, 17, 16));
        ledger.register{value: MIN_STAKE}("a", "m", "e", tags, capA, 1);
    }

    function test_register_revertsStringTooLong_nameAndTag() public {
        vm.deal(alice, 2 ether);
        string memory long = string(new bytes(257));
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ICapabilityLedger.StringTooLong.selector, 257, 256));
        ledger.register{value: MIN_STAKE}(long, "m", "e", _tags(), capA, 1);
        string[] memory tags = new string[](1);
        tags[0] = long;
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ICapabilityLedger.StringTooLong.selector, 257, 256));
        ledger.register{value: MIN_STAKE}("a", "m", "e", tags, capA, 1);
        // 256 bytes is allowed
        vm.prank(alice);
        ledger.register{value: MIN_STAKE}(string(new bytes(256)), "m", "e", _tags(), capA, 1);
    }

    function test_register_revertsInvalidCapacity() public {
        vm.deal(alice, 1 ether);
        vm.prank(alice);
        vm.expectRevert(ICapabilityLedger.InvalidCapacity.selector);
        ledger.register{value: MIN_STAKE}("a", "m", "e", _tags(), capA, 0);
    }

    // ------------------------------------------------------------------ update / heartbeat

    function test_update_replacesProfileAndClipsFreeCapacity() public {
        _register(alice, capA);
        bytes32 capB = Vectors.unit(5, -7);
        string[] memory tags = new string[](1);
        tags[0] = "vision";
        vm.expectEmit(true, false, false, true, address(ledger));
        emit ICapabilityLedger.AgentUpdated(alice, "m2", "e2", tags, capB, 7e6, 2);
        vm.prank(alice);
        ledger.update("m2", "e2", tags, capB, 2);
        ICapabilityLedger.AgentInfo memory a = ledger.getAgent(alice);
        assertEq(a.modelId, "m2", "model");
        assertEq(a.tags.length, 1, "tags replaced");
        assertEq(a.capability, capB, "vector");
        assertEq(a.norm, 7e6, "norm");
        assertEq(a.capacity, 2, "capacity");
        assertEq(a.freeCapacity, 2, "free capacity clipped from 4 to 2");
    }

    function test_update_revertsNotRegistered_andValidates() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ICapabilityLedger.NotRegistered.selector, alice));
        ledger.update("m", "e", _tags(), capA, 1);
        _register(alice, capA);
        vm.prank(alice);
        vm.expectRevert(ICapabilityLedger.ZeroCapability.selector);
        ledger.update("m", "e", _tags(), bytes32(0), 1);
        vm.prank(alice);
        vm.expectRevert(ICapabilityLedger.InvalidCapacity.selector);
        ledger.update("m", "e", _tags(), capA, 0);
    }

    function test_heartbeat_drivesAvailability() public {
        _register(alice, capA);
        vm.warp(T0 + 10);
        vm.expectEmit(true, false, false, true, address(ledger));
        emit ICapabilityLedger.Heartbeat(alice, true, 0);
        vm.prank(alice);
        ledger.heartbeat(true, 0);
        assertFalse(ledger.isAvailable(alice), "no free capacity -> unavailable");
        assertEq(ledger.getAgent(alice).lastHeartbeat, T0 + 10, "heartbeat time");
        vm.prank(alice);
        ledger.heartbeat(false, 3);
        assertFalse(ledger.isAvailable(alice), "said unavailable");
        vm.prank(alice);
        ledger.heartbeat(true, 3);
        assertTrue(ledger.isAvailable(alice), "available again");
    }

    function test_heartbeat_reverts() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ICapabilityLedger.NotRegistered.selector, alice));
        ledger.heartbeat(true, 1);
        _register(alice, capA);
        vm.prank(alice);
        vm.expectRevert(ICapabilityLedger.InvalidCapacity.selector);
        ledger.heartbeat(true, 5);
    }

    // ------------------------------------------------------------------ deregister / withdraw

    function test_deregisterAndWithdraw_afterCooldown() public {
        _register(alice, capA);
        vm.expectEmit(true, false, false, true, address(ledger));
        emit ICapabilityLedger.AgentDeregistered(alice, uint64(T0 + COOLDOWN));
        vm.prank(alice);
        ledger.deregister();
        assertFalse(ledger.isActive(alice), "inactive");
        assertFalse(ledger.isAvailable(alice), "unavailable");
        assertEq(ledger.activeAgentCount(), 0, "count");

        vm.warp(T0 + COOLDOWN - 1);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ICapabilityLedger.CooldownActive.selector, uint64(T0 + COOLDOWN)));
        ledger.withdrawStake();

        vm.warp(T0 + COOLDOWN);
        uint256 before = alice.balance;
        vm.expectEmit(true, false, false, true, address(ledger));
        emit ICapabilityLedger.StakeWithdrawn(alice, MIN_STAKE);
        vm.prank(alice);
        ledger.withdrawStake();
        assertEq(alice.balance - before, MIN_STAKE, "stake returned");
        assertEq(address(ledger).balance, 0, "ledger empty");
        vm.prank(alice);
        vm.expectRevert(ICapabilityLedger.NothingToWithdraw.selector);
        ledger.withdrawStake();
    }

    function test_deregister_revertsNotRegistered() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ICapabilityLedger.NotRegistered.selector, alice));
        ledger.deregister();
    }

    function test_withdraw_revertsWhileActive() public {
        _register(alice, capA);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ICapabilityLedger.AgentStillActive.selector, alice));
        ledger.withdrawStake();
    }

    function test_withdraw_revertsTransferFailed_andKeepsStake() public {
        EthRefusingAgent agent = new EthRefusingAgent();
        agent.join{value: MIN_STAKE}(ledger, capA);
        vm.warp(T0 + COOLDOWN);
        vm.expectRevert(ICapabilityLedger.TransferFailed.selector);
        agent.withdraw(ledger);
        assertEq(ledger.getAgent(address(agent)).stake, MIN_STAKE, "stake kept after failed transfer");
    }

    function test_reRegister_keepsReputationAndOrder() public {
        _register(alice, capA);
        _register(bob, capA);
        ledger.setAuthorized(address(this), true);
        ledger.adjustReputation(alice, -0.3e18);
        vm.prank(alice);
        ledger.deregister();
        vm.warp(T0 + COOLDOWN);
        vm.prank(alice);
        ledger.withdrawStake();
        _register(alice, capA);
        assertEq(ledger.reputationOf(alice), 0.7e18, "reputation survives re-registration");
        ICapabilityLedger.AgentInfo[] memory page = ledger.getActiveAgents(0, 10);
        assertEq(page.length, 2, "two active");
        assertEq(page[0].agent, alice, "alice keeps first position");
        assertEq(page[1].agent, bob, "bob second");
    }

    // ------------------------------------------------------------------ reputation / owner

    function test_adjustReputation_clampsAndEmits() public {
        _register(alice, capA);
        ledger.setAuthorized(address(this), true);
        vm.expectEmit(true, true, false, true, address(ledger));
        emit ICapabilityLedger.ReputationChanged(alice, 1.5e18, 0.5e18, address(this));
        ledger.adjustReputation(alice, 0.5e18);
        ledger.adjustReputation(alice, 0.7e18);
        assertEq(ledger.reputationOf(alice), 2e18, "capped at 2e18");
        ledger.adjustReputation(alice, type(int256).max);
        assertEq(ledger.reputationOf(alice), 2e18, "extreme positive");
        ledger.adjustReputation(alice, -2.5e18);
        assertEq(ledger.reputationOf(alice), 0, "floored at 0");
        ledger.adjustReputation(alice, type(int256).min);
        assertEq(ledger.reputationOf(alice), 0, "extreme negative");
        ledger.adjustReputation(alice, 0.1e18);
        assertEq(ledger.reputationOf(alice), 0.1e18, "climbs back");
    }

    function test_adjustReputation_reverts() public {
        _register(alice, capA);
        vm.expectRevert(abi.encodeWithSelector(ICapabilityLedger.NotAuthorized.selector, address(this)));
        ledger.adjustReputation(alice, 1);
        ledger.setAuthorized(address(this), true);
        vm.expectRevert(abi.encodeWithSelector(ICapabilityLedger.NotRegistered.selector, bob));
        ledger.adjustReputation(bob, 1);
        vm.expectEmit(true, false, false, true, address(ledger));
        emit ICapabilityLedger.ProtocolAuthorized(address(this), false);
        ledger.setAuthorized(address(this), false);
        assertFalse(ledger.authorized(address(this)), "revoked");
        vm.expectRevert(abi.encodeWithSelector(ICapabilityLedger.NotAuthorized.selector, address(this)));
        ledger.adjustReputation(alice, 1);
    }

    function test_ownerOnly() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ICapabilityLedger.NotOwner.selector, alice));
        ledger.setAuthorized(alice, true);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ICapabilityLedger.NotOwner.selector, alice));
        ledger.transferOwnership(alice);
        ledger.transferOwnership(alice);
        assertEq(ledger.owner(), alice, "new owner");
        vm.expectRevert(abi.encodeWithSelector(ICapabilityLedger.NotOwner.selector, address(this)));
        ledger.setAuthorized(address(this), true);
        vm.prank(alice);
        ledger.setAuthorized(bob, true);
        assertTrue(ledger.authorized(bob), "new owner authorises");
    }

    // ------------------------------------------------------------------ views

    function test_getActiveAgents_paginatesOverActiveOnly() public {
        address[] memory agents = _registerMany(5);
        vm.prank(agents[1]);
        ledger.deregister();
        assertEq(ledger.activeAgentCount(), 4, "count");
        ICapabilityLedger.AgentInfo[] memory page = ledger.getActiveAgents(1, 2);
        assertEq(page.length, 2, "page size");
        assertEq(page[0].agent, agents[2], "skips the deregistered agent");
        assertEq(page[1].agent, agents[3], "order");
        page = ledger.getActiveAgents(3, 10);
        assertEq(page.length, 1, "tail");
        assertEq(page[0].agent, agents[4], "last");
        assertEq(ledger.getActiveAgents(4, 10).length, 0, "past the end");
        assertEq(ledger.getActiveAgents(0, 0).length, 0, "limit 0");
    }

    function test_matchScore_knownValues() public {
        _register(alice, capA); // (3, 4)
        assertEq(ledger.matchScore(alice, capA), 1e18, "identical");
        assertEq(ledger.matchScore(alice, Vectors.unit(2, 9)), 0, "orthogonal");
        assertEq(ledger.matchScore(alice, Vectors.set(Vectors.unit(0, -3), 1, -4)), 0, "opposite clamps to 0");
        assertEq(ledger.matchScore(alice, bytes32(0)), 0, "zero requirement");
        // (3,4)·(1,0) / 5 = 0.6
        assertEq(ledger.matchScore(alice, Vectors.unit(0, 1)), 0.6e18, "cos = 0.6");
        // (3,4)·(-1,1) / (5·√2) = 0.1414213...; norm(-1,1) = isqrt(2e12) = 1414213
        assertEq(ledger.matchScore(alice, Vectors.set(Vectors.unit(0, -1), 1, 1)), uint256(1e30) / (5e6 * 1414213), "mixed signs");
        assertEq(ledger.matchScore(bob, capA), 0, "unknown agent scores 0");
    }

    function test_bidScore_weightsByReputation() public {
        _register(alice, capA);
        ledger.setAuthorized(address(this), true);
        ledger.adjustReputation(alice, 0.5e18);
        (bool available, uint64 plain) = ledger.bidScore(alice, Vectors.unit(0, 1), 1e6, false);
        (, uint64 weighted) = ledger.bidScore(alice, Vectors.unit(0, 1), 1e6, true);
        assertTrue(available, "available");
        assertEq(plain, 0.6e18, "plain");
        assertEq(weighted, 0.9e18, "x1.5");
        (available,) = ledger.bidScore(bob, capA, 5e6, false);
        assertFalse(available, "unregistered");
    }

    // ------------------------------------------------------------------ fuzz

    function testFuzz_matchScore_symmetricAndBounded(bytes32 a, bytes32 b) public view {
        a = Vectors.sanitize(a);
        b = Vectors.sanitize(b);
        uint256 ab = math.cosine(a, b);
        assertEq(ab, math.cosine(b, a), "symmetric");
        assertLe(ab, 1e18, "bounded by 1");
        if (a != bytes32(0)) assertGe(math.cosine(a, a), 1e18 - 1e6, "self-match ~1");
    }

    function testFuzz_matchScore_scaleInvariant(bytes32 a, uint8 idx, int8 x, uint8 factor) public view {
        // Scaling a single-component vector does not change its score.
        uint256 i = bound(idx, 0, 31);
        int256 c = int256(bound(uint8(x), 1, 12));
        int256 f = int256(bound(factor, 1, 10));
        a = Vectors.sanitize(a);
        vm.assume(a != bytes32(0));
        uint256 s1 = math.cosine(a, Vectors.unit(i, int8(c)));
        uint256 s2 = math.cosine(a, Vectors.unit(i, int8(c * f)));
        assertEq(s1, s2, "scale invariant");
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

    function testFuzz_stakeAccounting(uint96[4] memory stakes, uint8 leaveMask) public {
        uint256 total;
        for (uint256 i; i < 4; ++i) {
            uint256 s = bound(stakes[i], MIN_STAKE, 100 ether);
            address who = _agent(10 + i);
            vm.deal(who, s);
            vm.prank(who);
            ledger.register{value: s}("a", "m", "e", _tags(), capA, 1);
            total += s;
        }
        assertEq(address(ledger).balance, total, "all stakes held");
        vm.warp(T0 + COOLDOWN);
        for (uint256 i; i < 4; ++i) {
            if (leaveMask & (1 << i) == 0) continue;
            address who = _agent(10 + i);
            vm.prank(who);
            ledger.deregister();
        }
        vm.warp(T0 + 2 * COOLDOWN);
        for (uint256 i; i < 4; ++i) {
            if (leaveMask & (1 << i) == 0) continue;
            address who = _agent(10 + i);
            uint256 s = ledger.getAgent(who).stake;
            vm.prank(who);
            ledger.withdrawStake();
            assertEq(who.balance, s, "withdrawn stake");
            total -= s;
        }
        assertEq(address(ledger).balance, total, "remaining stakes held");
    }

    function testFuzz_adjustReputation_staysInRange(int256[5] memory deltas) public {
        _register(alice, capA);
        ledger.setAuthorized(address(this), true);
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
}
