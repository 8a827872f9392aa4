// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {SymphonyFixture} from "./utils/SymphonyFixture.sol";
import {Vectors} from "./utils/Vectors.sol";
import {ContractAgent, RefusingRequester} from "./utils/ContractAgents.sol";
import {ITaskBeacon} from "../../contracts/interfaces/ITaskBeacon.sol";
import {ICapabilityLedger} from "../../contracts/interfaces/ICapabilityLedger.sol";
import {ReentrancyLock} from "../../contracts/lib/ReentrancyLock.sol";

contract TaskBeaconTest is SymphonyFixture {
    address[] internal agents;
    bytes32 internal constant REQ = bytes32(uint256(0x64) << 248); // e0 · 100

    function setUp() public override {
        super.setUp();
        agents = _registerMany(6);
    }

    function _one(bytes32 r) internal pure returns (bytes32[] memory out) {
        out = new bytes32[](1);
        out[0] = r;
    }

    // ------------------------------------------------------------------ posting

    function test_postTask_storesChainsAndEmits() public {
        bytes32[] memory r = new bytes32[](3);
        r[0] = REQ;
        r[1] = Vectors.unit(1, 50);
        r[2] = Vectors.unit(2, -50);
        ITaskBeacon.ChainSpec[] memory specs = new ITaskBeacon.ChainSpec[](2);
        specs[0] = ITaskBeacon.ChainSpec(r, "plan A");
        specs[1] = ITaskBeacon.ChainSpec(_one(REQ), "plan B");
        vm.expectEmit(true, true, false, true, address(beacon));
        emit ITaskBeacon.ChainPosted(bytes32(uint256(1)), 1, 0, r, "plan A", uint64(T0 + BID_WINDOW));
        bytes32 taskId = _postSpecs(_spec(2, 1e12), specs);
        assertEq(taskId, bytes32(uint256(1)), "ids are assigned");
        assertEq(beacon.taskCount(), 1, "one task");
        ITaskBeacon.TaskInfo memory t = beacon.getTask(taskId);
        assertEq(t.requester, address(this), "requester");
        assertEq(uint256(t.chains), 2, "chains");
        assertEq(uint256(t.expectedVoters), 4, "2 chains x 2 final slots");
        assertEq(beacon.expectedVoters(taskId), 4, "expected voters");
        ITaskBeacon.BeaconInfo memory b = beacon.getBeacon(_beaconOf(taskId, 0, 2));
        assertTrue(b.isFinal, "last step is final");
        assertEq(uint256(b.steps), 3, "steps");
        assertEq(uint256(b.status), uint256(ITaskBeacon.Status.Bidding), "bidding");
        assertEq(b.requirementsHash, keccak256(abi.encodePacked(r)), "requirements hash");
        assertFalse(beacon.getBeacon(_beaconOf(taskId, 0, 0)).isFinal, "first step is not");
        assertEq(address(beacon).balance, _withFee(2 * 4 * 1e12), "escrow + fee");
        assertEq(beacon.burnedFees(), (2 * 4 * 1e12) / 10, "10 % fee burned");
        uint256 missing = _beaconOf(taskId, 1, 1);
        vm.expectRevert(abi.encodeWithSelector(ITaskBeacon.UnknownBeacon.selector, missing));
        beacon.getBeacon(missing);
        vm.expectRevert(abi.encodeWithSelector(ITaskBeacon.UnknownTask.selector, bytes32(uint256(2))));
        beacon.getTask(bytes32(uint256(2)));
    }

    function test_postTask_validates() public {
        ITaskBeacon.ChainSpec[] memory one = new ITaskBeacon.ChainSpec[](1);
        one[0] = ITaskBeacon.ChainSpec(_one(REQ), "");
        ITaskBeacon.TaskSpec memory s = _spec(0, 0);
        vm.expectRevert(abi.encodeWithSelector(ITaskBeacon.InvalidExecutors.selector, 0));
        beacon.postTask(s, one);
        s = _spec(9, 0);
        vm.expectRevert(abi.encodeWithSelector(ITaskBeacon.InvalidExecutors.selector, 9));
        beacon.postTask(s, one);
        s = _spec(1, 0);
        s.bidWindow = beacon.MAX_BID_WINDOW() + 1;
        vm.expectRevert(ITaskBeacon.InvalidWindow.selector);
        beacon.postTask(s, one);
        s.bidWindow = 10;
        s.execWindow = 0;
        vm.expectRevert(ITaskBeacon.InvalidWindow.selector);
        beacon.postTask(s, one);
        s.execWindow = 10;
        vm.expectRevert(abi.encodeWithSelector(ITaskBeacon.InvalidChains.selector, 0));
        beacon.postTask(s, new ITaskBeacon.ChainSpec[](0));
        ITaskBeacon.ChainSpec[] memory many = new ITaskBeacon.ChainSpec[](9);
        for (uint256 i; i < 9; ++i) {
            many[i] = one[0];
        }
        s.executors = 2;
        vm.expectRevert(abi.encodeWithSelector(ITaskBeacon.TooManyVoters.selector, 18));
        beacon.postTask(s, many);
        s.executors = 1;
        ITaskBeacon.ChainSpec[] memory bad = new ITaskBeacon.ChainSpec[](1);
        bad[0] = ITaskBeacon.ChainSpec(new bytes32[](9), "");
        vm.expectRevert(abi.encodeWithSelector(ITaskBeacon.InvalidSteps.selector, 9));
        beacon.postTask(s, bad);
        bad[0] = ITaskBeacon.ChainSpec(_one(REQ), new bytes(MAX_PAYLOAD + 1));
        vm.expectRevert(abi.encodeWithSelector(ITaskBeacon.PayloadTooLarge.selector, MAX_PAYLOAD + 1, MAX_PAYLOAD));
        beacon.postTask(s, bad);
        s.rewardPerExecutor = 1000;
        vm.expectRevert(abi.encodeWithSelector(ITaskBeacon.WrongValue.selector, 1000, 1100));
        beacon.postTask{value: 1000}(s, one);
        assertEq(beacon.taskCount(), 0, "nothing posted");
    }

    // ------------------------------------------------------------------ bidding

    function test_bid_scoreIsComputedOnChainFromVectorAndRecord() public {
        (, uint256 id) = _postFinal(1, 0);
        _bid(agents[1], id);
        ITaskBeacon.Bid[] memory bids = beacon.getBids(id);
        uint256 expected = (ledger.matchScore(agents[1], REQ) * ledger.trustOf(agents[1], beacon.kindOf(id))) / 1e18;
        assertEq(uint256(bids[0].score), (expected / 1e9) * 1e9, "score = match * T, in 1e-9 units");
        assertTrue(bids[0].newcomer, "newcomer");
        assertEq(beacon.kindOf(id), keccak256(abi.encodePacked("symphony.cluster", uint8(0))), "cluster of e0+ is 0");
    }

    function test_bid_reverts() public {
        (bytes32 taskId, uint256 id) = _postFinal(1, 0);
        vm.expectRevert(abi.encodeWithSelector(ITaskBeacon.RequirementsMismatch.selector, id));
        vm.prank(agents[0]);
        beacon.bid(id, _one(Vectors.unit(3, 1)));
        address stranger = _agent(99);
        vm.expectRevert(abi.encodeWithSelector(ITaskBeacon.AgentNotAvailable.selector, stranger));
        _bid(stranger, id);
        vm.prank(agents[1]);
        ledger.heartbeat(false);
        vm.expectRevert(abi.encodeWithSelector(ITaskBeacon.AgentNotAvailable.selector, agents[1]));
        _bid(agents[1], id);
        _bid(agents[0], id);
        vm.expectRevert(abi.encodeWithSelector(ITaskBeacon.AlreadyBid.selector, id, agents[0]));
        _bid(agents[0], id);
        vm.expectRevert(abi.encodeWithSelector(ITaskBeacon.RequesterCannotBid.selector, id));
        vm.prank(address(this));
        beacon.bid(id, _reqs[id >> 3]);
        vm.warp(block.timestamp + BID_WINDOW + 1);
        vm.expectRevert(abi.encodeWithSelector(ITaskBeacon.BiddingClosed.selector, id));
        _bid(agents[2], id);
        vm.expectRevert(abi.encodeWithSelector(ITaskBeacon.UnknownBeacon.selector, id + 1));
        _bid(agents[2], id + 1);
        taskId;
    }

    /// @notice Attack 3 (v1: 32 sybil bids filled the book and honest agents got TooManyBids): a full book takes a
    ///         better bid by displacing the lowest one; only bids below the whole book are refused.
    function test_fullBook_betterBidDisplacesLowest_sybilsCannotLockOut() public {
        (, uint256 id) = _postFinal(1, 0);
        bytes32 weak = Vectors.set(Vectors.unit(0, 10), 1, 100); // match ~0.1
        for (uint256 i; i < 16; ++i) {
            address s = _agent(500 + i);
            _register(s, weak);
            _bid(s, id);
        }
        assertEq(beacon.getBids(id).length, 16, "book full");
        vm.recordLogs();
        _bid(agents[0], id); // the specialist displaces a sybil
        assertEq(beacon.getBids(id).length, 16, "still 16");
        bool found;
        ITaskBeacon.Bid[] memory bids = beacon.getBids(id);
        for (uint256 i; i < bids.length; ++i) {
            if (bids[i].agent == agents[0]) found = true;
        }
        assertTrue(found, "specialist in the book");
        address low = _agent(600);
        _register(low, Vectors.set(Vectors.unit(0, 5), 1, 100)); // below every sybil
        vm.prank(low);
        vm.expectRevert(); // BidTooLow
        beacon.bid(id, _reqs[id >> 3]);
        _closeAfterWindow(id);
        assertEq(beacon.executorsOf(id)[0], agents[0], "the specialist is assigned");
    }

    /// @notice Attack 1 (v1: equal scores went to the earlier bid, so front-running won ties): the winner of a tie
    ///         is the same whichever agent bids first.
    function testFuzz_tieWinnerIndependentOfBidOrder(bool reversed, uint8 salt) public {
        address x = _agent(700 + salt);
        address y = _agent(800 + uint256(salt));
        bytes32 cap = Vectors.set(REQ, 5, 7);
        _register(x, cap);
        _register(y, cap);
        (, uint256 id) = _postFinal(1, 0);
        _bid(reversed ? y : x, id);
        _bid(reversed ? x : y, id);
        _closeAfterWindow(id);
        address winner = beacon.executorsOf(id)[0];
        uint256 kx = uint256(keccak256(abi.encode(id, uint32(_localId(x, y, reversed, true)))));
        uint256 ky = uint256(keccak256(abi.encode(id, uint32(_localId(x, y, reversed, false)))));
        assertEq(winner, kx < ky ? x : y, "lower keccak(beacon, agent id) wins the tie");
    }

    /// @dev Local agent ids are assigned at an agent's first bid anywhere (6 fixture agents have none yet).
    function _localId(address, address, bool reversed, bool forX) internal pure returns (uint256) {
        return (forX != reversed) ? 1 : 2;
    }

    // ------------------------------------------------------------------ close and capacity

    function test_close_assignsTopKAndCreditsEmptySlots() public {
        (bytes32 taskId, uint256 id) = _postFinal(4, 1e12);
        _bid(agents[2], id);
        _bid(agents[0], id);
        _bid(agents[1], id);
        vm.expectRevert(abi.encodeWithSelector(ITaskBeacon.BiddingOpen.selector, id));
        beacon.close(id);
        _closeAfterWindow(id);
        address[] memory ex = beacon.executorsOf(id);
        assertEq(ex.length, 3, "three bidders assigned");
        assertEq(beacon.credits(address(this)), 1e12, "one empty slot credited back");
        assertEq(beacon.expectedVoters(taskId), 3, "three live final slots");
        ITaskBeacon.BeaconInfo memory b = beacon.getBeacon(id);
        assertEq(uint256(b.status), uint256(ITaskBeacon.Status.Assigned), "assigned");
        assertEq(uint256(b.execDeadline), block.timestamp + EXEC_WINDOW, "deadline");
        uint256 before = address(this).balance;
        beacon.withdrawCredit();
        assertEq(address(this).balance - before, 1e12, "withdrawn");
        vm.expectRevert(ITaskBeacon.NothingToWithdraw.selector);
        beacon.withdrawCredit();
    }

    function test_close_noBids_unfilledAndCredited() public {
        (, uint256 id) = _postFinal(2, 1e12);
        _closeAfterWindow(id);
        assertEq(uint256(beacon.getBeacon(id).status), uint256(ITaskBeacon.Status.Unfilled), "unfilled");
        assertEq(beacon.credits(address(this)), 2e12, "escrow credited back (the fee is not)");
        vm.expectRevert(abi.encodeWithSelector(ITaskBeacon.WrongStatus.selector, id, ITaskBeacon.Status.Unfilled));
        beacon.close(id);
    }

    /// @notice Attack 4 (v1: a capacity-1 agent was assigned 20 beacons at once): an assignment takes a unit of
    ///         ledger capacity; a full agent is skipped for the next best bidder, and delivery gives the unit back.
    function test_capacityOneAgent_holdsOneAssignmentAtATime() public {
        address solo = _agent(900);
        vm.deal(solo, 10 ether);
        vm.prank(solo);
        ledger.register{value: MIN_STAKE}("solo", "m", "e", _tags(), REQ, 1); // the best match everywhere
        uint256[] memory ids = new uint256[](20);
        for (uint256 i; i < 20; ++i) {
            (, ids[i]) = _postFinal(1, 0);
            _bid(solo, ids[i]);
            _bid(agents[5], ids[i]); // runner-up (capacity 4)
        }
        vm.warp(block.timestamp + BID_WINDOW + 1);
        uint256 soloCount;
        uint256 filled;
        for (uint256 i; i < 20; ++i) {
            beacon.close(ids[i]);
            if (beacon.isExecutor(ids[i], solo)) ++soloCount;
            if (beacon.getBeacon(ids[i]).status == ITaskBeacon.Status.Assigned) ++filled;
        }
        assertEq(soloCount, 1, "capacity 1: one assignment");
        assertEq(filled, 5, "1 + the runner-up's 4");
        assertEq(uint256(ledger.getAgent(solo).freeCapacity), 0, "solo is full");
        bytes32 taskId = beacon.getBeacon(ids[0]).taskId;
        _commit(solo, taskId, ids[0], "4");
        assertEq(uint256(ledger.getAgent(solo).freeCapacity), 1, "delivery restores capacity");
    }

    // ------------------------------------------------------------------ steps, delivery

    function test_steps_nextStepAssignedInsideFirstDelivery() public {
        bytes32 taskId = _postTask(1, 3, 1, 1e12);
        uint256 s0 = _beaconOf(taskId, 0, 0);
        for (uint256 s; s < 3; ++s) {
            _bid(agents[s], s0 + s);
        }
        vm.warp(block.timestamp + BID_WINDOW + 1);
        vm.expectRevert(abi.encodeWithSelector(ITaskBeacon.PredecessorPending.selector, s0 + 1));
        beacon.close(s0 + 1);
        beacon.close(s0);
        uint256 before = agents[0].balance;
        _submit(agents[0], s0, "step 1 done");
        assertEq(agents[0].balance - before, 1e12, "paid the share");
        assertTrue(beacon.isExecutor(s0 + 1, agents[1]), "step 2 assigned by step 1's delivery");
        vm.expectRevert(abi.encodeWithSelector(ITaskBeacon.FinalStep.selector, s0 + 2));
        beacon.submitResult(s0 + 2, "x");
        vm.expectRevert(abi.encodeWithSelector(ITaskBeacon.NotFinal.selector, s0 + 1));
        vm.prank(agents[1]);
        beacon.commitResult(s0 + 1, bytes32(uint256(1)));
        vm.expectRevert(abi.encodeWithSelector(ITaskBeacon.EmptyResult.selector, s0 + 1));
        vm.prank(agents[1]);
        beacon.submitResult(s0 + 1, "");
        vm.expectRevert(abi.encodeWithSelector(ITaskBeacon.NotAssigned.selector, s0 + 1, agents[2]));
        _submit(agents[2], s0 + 1, "not mine");
        _submit(agents[1], s0 + 1, "step 2 done");
        vm.expectRevert(abi.encodeWithSelector(ITaskBeacon.WrongStatus.selector, s0 + 1, ITaskBeacon.Status.Completed));
        _submit(agents[1], s0 + 1, "again");
        assertTrue(beacon.isExecutor(s0 + 2, agents[2]), "final step assigned");
        assertEq(uint256(beacon.getBeacon(s0 + 1).status), uint256(ITaskBeacon.Status.Completed), "completed");
        assertTrue(beacon.hasDelivered(s0 + 1, agents[1]), "delivered");
    }

    function test_unfilledPredecessor_requesterAbandonsTheRest() public {
        bytes32 taskId = _postTask(1, 2, 1, 1e12);
        uint256 s0 = _beaconOf(taskId, 0, 0);
        _bid(agents[0], s0 + 1);
        _closeAfterWindow(s0); // no bids on step 1: Unfilled
        vm.prank(agents[0]);
        vm.expectRevert(abi.encodeWithSelector(ITaskBeacon.PredecessorPending.selector, s0 + 1));
        beacon.close(s0 + 1); // a stranger must leave the requester time to reopen
        beacon.close(s0 + 1); // the requester abandons the chain
        assertEq(uint256(beacon.getBeacon(s0 + 1).status), uint256(ITaskBeacon.Status.Unfilled), "abandoned");
        assertEq(beacon.credits(address(this)), 2e12, "both steps credited");
        assertEq(beacon.expectedVoters(taskId), 0, "no voter left");
    }

    function test_reopen_unfilledStepBidsAgain() public {
        (bytes32 taskId, uint256 id) = _postFinal(1, 1e12);
        _closeAfterWindow(id);
        vm.expectRevert(abi.encodeWithSelector(ITaskBeacon.NotRequester.selector, agents[0]));
        vm.prank(agents[0]);
        beacon.reopen(id, 30);
        vm.expectRevert(abi.encodeWithSelector(ITaskBeacon.WrongValue.selector, 0, 1.1e12));
        beacon.reopen(id, 30);
        beacon.reopen{value: 1.1e12}(id, 30);
        assertEq(beacon.expectedVoters(taskId), 1, "final slot live again");
        _bid(agents[0], id);
        vm.warp(block.timestamp + 31);
        beacon.close(id);
        assertTrue(beacon.isExecutor(id, agents[0]), "assigned after reopening");
    }

    function test_submitResult_reentryIsBlocked() public {
        ContractAgent a = new ContractAgent();
        a.join{value: MIN_STAKE}(ledger, REQ);
        bytes32 taskId = _postTask(1, 2, 1, 0.5 ether);
        uint256 id = _beaconOf(taskId, 0, 0);
        a.setMode(ContractAgent.Mode.Reenter, beacon, id);
        a.bid(beacon, id, _reqs[id >> 3]);
        _closeAfterWindow(id);
        a.submit(beacon, id, "x");
        assertEq(a.received(), 0.5 ether, "paid once");
        assertEq(keccak256(a.reentryError()), keccak256(abi.encodeWithSelector(ReentrancyLock.Reentrancy.selector)), "re-entry refused");
    }

    /// @notice Collateral: nobody is assigned work whose failure could claw back more than its stake covers.
    function test_close_skipsAgentsWhoseStakeCannotCoverTheShareAtRisk() public {
        vm.deal(address(this), 10 ether);
        (, uint256 id) = _postFinal(1, 0.9 ether); // 0.9 + 0.02 fine + 0.1 collateral > 1 ether of stake
        _bid(agents[0], id);
        _bid(agents[1], id);
        vm.prank(agents[1]);
        ledger.addStake{value: 1 ether}();
        _closeAfterWindow(id);
        assertEq(beacon.executorsOf(id)[0], agents[1], "the best-ranked agent that can cover it");
    }

    /// @notice A requester that refuses ETH cannot make anybody else's call revert: its refunds are credited.
    function test_refusingRequester_isCreditedNotPushed() public {
        RefusingRequester r = new RefusingRequester();
        vm.deal(address(r), 1 ether);
        bytes32 taskId = r.post{value: 1.1e12}(beacon, REQ, 1e12);
        uint256 id = _beaconOf(taskId, 0, 0);
        vm.warp(block.timestamp + 11);
        vm.prank(agents[0]);
        beacon.close(id); // anybody closes the unfilled beacon
        assertEq(beacon.credits(address(r)), 1e12, "credited");
        vm.expectRevert(ITaskBeacon.TransferFailed.selector);
        r.withdraw(beacon); // only the refuser's own withdrawal fails
    }

    // ------------------------------------------------------------------ timeouts (attack 3)

    function test_reclaim_timeoutReleasesSlashesAndReplaces() public {
        (, uint256 id) = _postFinal(1, 1e12);
        _bid(agents[0], id);
        _bid(agents[1], id);
        _closeAfterWindow(id);
        vm.expectRevert(abi.encodeWithSelector(ITaskBeacon.DeadlineNotPassed.selector, id));
        beacon.reclaimExpired(id);
        vm.warp(block.timestamp + EXEC_WINDOW + 1);
        uint256 stake = ledger.stakeOf(agents[0]);
        bytes32 kind = beacon.kindOf(id);
        beacon.reclaimExpired(id);
        assertEq(stake - ledger.stakeOf(agents[0]), ledger.slashUnit(), "slashUnit slashed");
        (, uint32 f) = ledger.evidenceOf(agents[0], kind);
        assertEq(uint256(f), 1, "failure recorded");
        assertEq(uint256(ledger.reputationOf(agents[0])), 0.9e18, "reputation -0.1");
        assertEq(uint256(ledger.getAgent(agents[0]).freeCapacity), 4, "capacity released");
        assertEq(beacon.executorsOf(id)[0], agents[1], "runner-up assigned");
        assertEq(uint256(beacon.getBeacon(id).rounds), 1, "one round");
    }

    /// @notice Attack 3 (v1: 32 never-delivering sybils dragged a beacon through 32 reclaim rounds): at most
    ///         MAX_ROUNDS reassignments, then the slot is credited back; every sybil that held it is slashed.
    function test_reclaim_roundsBoundedAndEverySybilPays() public {
        (, uint256 id) = _postFinal(1, 1e12);
        address[] memory sybils = new address[](10);
        for (uint256 i; i < 10; ++i) {
            sybils[i] = _agent(1000 + i);
            _register(sybils[i], Vectors.set(REQ, 1, int8(int256(i))));
            _bid(sybils[i], id);
        }
        _closeAfterWindow(id);
        uint256 reclaims;
        while (beacon.getBeacon(id).status == ITaskBeacon.Status.Assigned) {
            vm.warp(block.timestamp + EXEC_WINDOW + 1);
            beacon.reclaimExpired(id);
            ++reclaims;
        }
        assertEq(reclaims, uint256(beacon.MAX_ROUNDS()) + 1, "bounded rounds");
        assertEq(uint256(beacon.getBeacon(id).status), uint256(ITaskBeacon.Status.Unfilled), "given up");
        assertEq(beacon.credits(address(this)), 1e12, "escrow back to the requester");
        uint256 slashed;
        for (uint256 i; i < 10; ++i) {
            slashed += MIN_STAKE - ledger.stakeOf(sybils[i]);
        }
        assertEq(slashed, reclaims * ledger.slashUnit(), "every holder slashed");
    }

    /// @notice The griefer's view: winning a slot and never delivering earns nothing and costs slashUnit of stake,
    ///         whatever reward it could be assigned.
    function testFuzz_neverDeliveringCostsMoreThanItEarns(uint96 rewardRaw) public {
        uint96 reward = uint96(bound(rewardRaw, 0, MIN_STAKE - ledger.slashUnit() - ledger.slashUnit() / 5));
        vm.deal(address(this), 100 ether);
        (, uint256 id) = _postFinal(1, reward);
        address g = agents[0];
        uint256 wealth = g.balance + ledger.stakeOf(g);
        _bid(g, id);
        _closeAfterWindow(id);
        vm.warp(block.timestamp + EXEC_WINDOW + 1);
        beacon.reclaimExpired(id);
        uint256 after_ = g.balance + ledger.stakeOf(g);
        assertEq(wealth - after_, ledger.slashUnit(), "lost slashUnit, earned nothing");
    }

    // ------------------------------------------------------------------ escrow safety (attack 9)

    /// @notice Attack 9 (v1: de-authorising TaskBeacon on the ledger made reclaimExpired revert for ever): every
    ///         ledger hook is try/caught, so close, delivery, reclaim, refunds and settlement all still move escrow.
    function test_escrowNeverStuck_whenLedgerDeauthorisesBeaconMidTask() public {
        bytes32 taskId = _postTask(2, 1, 1, 1e12);
        uint256 a = _beaconOf(taskId, 0, 0);
        uint256 b = _beaconOf(taskId, 1, 0);
        _bid(agents[0], a);
        _bid(agents[1], a);
        _bid(agents[2], b);
        _closeAfterWindow(a); // assigned while authorised
        ledger.setAuthorized(address(beacon), false); // misconfiguration mid-task
        beacon.close(b); // reservations fail closed: nobody assignable, escrow credited
        assertEq(uint256(beacon.getBeacon(b).status), uint256(ITaskBeacon.Status.Unfilled), "unfilled, not stuck");
        vm.warp(block.timestamp + EXEC_WINDOW + 1);
        beacon.reclaimExpired(a); // no replacement can be reserved either: refunded
        assertEq(uint256(beacon.getBeacon(a).status), uint256(ITaskBeacon.Status.Unfilled), "reclaimed");
        assertEq(beacon.credits(address(this)), 2e12, "all escrow credited");
        uint256 before = address(this).balance;
        beacon.withdrawCredit();
        assertEq(address(this).balance - before, 2e12, "and withdrawn");
        assertEq(address(beacon).balance, beacon.burnedFees(), "only the burned fee remains");
    }

    function test_escrowNeverStuck_deliveryAndSettlementWithoutLedger() public {
        (bytes32 taskId, uint256 id) = _assignedFinal(_three(), 1e12);
        ledger.setAuthorized(address(beacon), false);
        for (uint256 i; i < 3; ++i) {
            _commit(agents[i], taskId, id, "4");
        }
        for (uint256 i; i < 3; ++i) {
            _reveal(agents[i], taskId, "4");
        }
        assertTrue(beacon.getTask(taskId).settled, "settled although the ledger refused every hook");
        assertEq(address(beacon).balance, beacon.burnedFees(), "every share paid");
    }

    function _three() internal view returns (address[] memory out) {
        out = new address[](3);
        for (uint256 i; i < 3; ++i) {
            out[i] = agents[i];
        }
    }

    // ------------------------------------------------------------------ exploration

    /// @notice Bounded exploration: on one step in EXPLORE_ONE_IN (by a hash of the beacon id) the first slot goes
    ///         to the best newcomer even if a proven agent outscores it; on the others it does not.
    function test_exploration_oneStepIn32GivesTheFirstSlotToTheBestNewcomer() public {
        ledger.setAuthorized(address(this), true);
        for (uint256 i; i < 3; ++i) {
            ledger.recordEvidence(agents[1], keccak256(abi.encodePacked("symphony.cluster", uint8(0))), true);
        }
        uint256 explored;
        uint256 plain;
        for (uint256 n; n < 80 && (explored == 0 || plain == 0); ++n) {
            (, uint256 id) = _postFinal(1, 0);
            _bid(agents[1], id); // proven, match 0.995
            _bid(agents[4], id); // newcomer, match 0.93
            _closeAfterWindow(id);
            bool explores = uint256(keccak256(abi.encode(address(beacon), id))) % beacon.EXPLORE_ONE_IN() == 0;
            address winner = beacon.executorsOf(id)[0];
            assertEq(winner, explores ? agents[4] : agents[1], "explore iff the hash says so");
            if (explores) ++explored;
            else ++plain;
            vm.prank(winner);
            beacon.commitResult(id, bytes32(uint256(1))); // free the capacity again
        }
        assertGt(explored, 0, "saw an exploration step");
    }

    // ------------------------------------------------------------------ fuzz

    /// @dev close() assigns exactly the reference top-k: score desc, ties by keccak256(beaconId, local agent id).
    function testFuzz_close_matchesReferenceTopK(bytes32 seed, uint8 nRaw, uint8 kRaw) public {
        uint256 n = bound(nRaw, 1, 10);
        uint256 k = bound(kRaw, 1, 8);
        bytes32 req = Vectors.sanitize(keccak256(abi.encode(seed, "req")));
        vm.assume(req != bytes32(0));
        bytes32[] memory r = _one(req);
        ITaskBeacon.ChainSpec[] memory specs = new ITaskBeacon.ChainSpec[](1);
        specs[0] = ITaskBeacon.ChainSpec(r, "");
        bytes32 taskId = _postSpecs(_spec(uint8(k), 0), specs);
        uint256 id = _beaconOf(taskId, 0, 0);
        for (uint256 i; i < n; ++i) {
            address a = _agent(300 + i);
            bytes32 cap = Vectors.sanitize(keccak256(abi.encode(seed, i % 4 == 3 ? 0 : i))); // duplicates force ties
            if (cap == bytes32(0)) cap = Vectors.unit(0, 1);
            _register(a, cap);
            _bid(a, id);
        }
        _closeAfterWindow(id);
        ITaskBeacon.Bid[] memory bids = beacon.getBids(id);
        bool[] memory taken = new bool[](n);
        uint256 m = k < n ? k : n;
        if (uint256(keccak256(abi.encode(address(beacon), id))) % 32 == 0) return; // exploration step: other rule
        for (uint256 s; s < m; ++s) {
            uint256 best = type(uint256).max;
            for (uint256 i; i < n; ++i) {
                if (taken[i]) continue;
                if (best == type(uint256).max || _ranksAbove(id, bids, i, best)) best = i;
            }
            taken[best] = true;
        }
        for (uint256 i; i < n; ++i) {
            assertEq(beacon.isExecutor(id, bids[i].agent), taken[i], "executor set = reference top-k");
        }
        assertEq(beacon.executorsOf(id).length, m, "min(k, n) executors");
    }

    function _ranksAbove(uint256 id, ITaskBeacon.Bid[] memory bids, uint256 i, uint256 j) internal pure returns (bool) {
        if (bids[i].score != bids[j].score) return bids[i].score > bids[j].score;
        // local ids follow first-bid order here: bid position p has id p + 1
        return uint256(keccak256(abi.encode(id, uint32(i + 1)))) < uint256(keccak256(abi.encode(id, uint32(j + 1))));
    }

    /// @dev Whatever subset delivers and however often it is reclaimed, payouts + credits = escrow.
    function testFuzz_escrowConservation(uint96 rewardRaw, uint8 kRaw, uint8 deliverMask) public {
        uint96 reward = uint96(bound(rewardRaw, 0, 1 ether)); // above 0.88 ether nobody here can be assigned
        uint256 k = bound(kRaw, 1, 5);
        vm.deal(address(this), 1000 ether);
        bytes32 taskId = _postTask(1, 2, uint8(k), reward);
        uint256 id = _beaconOf(taskId, 0, 0);
        for (uint256 i; i < 6; ++i) {
            _bid(agents[i], id);
        }
        _closeAfterWindow(id);
        address[] memory ex = beacon.executorsOf(id);
        uint256 paid;
        for (uint256 i; i < ex.length; ++i) {
            if (deliverMask & (1 << i) == 0) continue;
            uint256 b = ex[i].balance;
            _submit(ex[i], id, "r");
            paid += ex[i].balance - b;
        }
        for (uint256 rounds; beacon.getBeacon(id).status == ITaskBeacon.Status.Assigned && rounds < 8; ++rounds) {
            vm.warp(block.timestamp + EXEC_WINDOW + 1);
            beacon.reclaimExpired(id);
        }
        uint256 open = beacon.getBeacon(id + 1).status == ITaskBeacon.Status.Assigned
            ? uint256(beacon.getBeacon(id + 1).slots) * reward
            : (beacon.getBeacon(id + 1).status == ITaskBeacon.Status.Bidding ? k * reward : 0);
        assertEq(
            address(beacon).balance, beacon.burnedFees() + beacon.credits(address(this)) + open, "escrow accounted"
        );
        assertEq(paid + beacon.credits(address(this)) + open, 2 * k * uint256(reward) - _paidLater(id, reward), "conservation");
    }

    // ------------------------------------------------------------------ cancelling

    /// @notice Property: cancelling refunds every step not yet assigned, leaves assigned work payable, and nothing
    ///         of the task is re-opened, re-assigned inside a delivery or refilled after a timeout.
    function test_cancelTask_refundsWhatIsNotAssignedAndLeavesAssignedWorkPayable() public {
        uint96 reward = 1e12;
        bytes32 taskId = _postTask(2, 2, 1, reward);
        uint256 a0 = _beaconOf(taskId, 0, 0);
        uint256 b0 = _beaconOf(taskId, 1, 0);
        _bid(agents[0], a0);
        _bid(agents[1], a0); // a bidder left over for a refill
        _bid(agents[2], a0 + 1);
        _closeAfterWindow(a0); // chain 0 step 0 assigned; the rest still bidding (step 1 waits for step 0)
        address executor = beacon.executorsOf(a0)[0];
        vm.expectRevert(abi.encodeWithSelector(ITaskBeacon.NotRequester.selector, agents[3]));
        vm.prank(agents[3]);
        beacon.cancelTask(taskId);

        vm.expectEmit(true, false, false, true, address(beacon));
        emit ITaskBeacon.TaskCancelled(taskId, 3, 1);
        beacon.cancelTask(taskId);
        assertTrue(beacon.isCancelled(taskId), "marked cancelled");
        assertEq(beacon.credits(address(this)), 3 * uint256(reward), "three unassigned steps credited back");
        assertEq(uint256(beacon.getBeacon(a0).status), uint256(ITaskBeacon.Status.Assigned), "assigned work stays");
        assertEq(uint256(beacon.getBeacon(a0 + 1).status), uint256(ITaskBeacon.Status.Unfilled), "next step closed");
        assertEq(uint256(beacon.getBeacon(b0).status), uint256(ITaskBeacon.Status.Unfilled), "other chain closed");
        assertEq(beacon.expectedVoters(taskId), 0, "no final slot left to vote");
        vm.expectRevert(abi.encodeWithSelector(ITaskBeacon.TaskIsCancelled.selector, taskId));
        beacon.cancelTask(taskId);
        vm.expectRevert(abi.encodeWithSelector(ITaskBeacon.TaskIsCancelled.selector, taskId));
        beacon.reopen{value: 1.1e12}(b0, 30);

        // The assigned executor still delivers and is paid; its delivery assigns nothing after a cancel.
        uint256 before = executor.balance;
        _submit(executor, a0, "r");
        assertEq(executor.balance - before, reward, "assigned work paid");
        assertEq(beacon.executorsOf(a0 + 1).length, 0, "the cancelled next step is not assigned");
    }

    function test_cancelTask_aLateExecutorIsNotReplaced() public {
        (bytes32 taskId, uint256 id) = _postFinal(1, 1e12);
        _bid(agents[0], id);
        _bid(agents[1], id);
        _closeAfterWindow(id);
        beacon.cancelTask(taskId);
        vm.warp(block.timestamp + EXEC_WINDOW + 1);
        beacon.reclaimExpired(id);
        assertEq(uint256(beacon.getBeacon(id).status), uint256(ITaskBeacon.Status.Unfilled), "not refilled");
        assertEq(beacon.executorsOf(id).length, 0, "nobody took the slot");
        assertEq(beacon.credits(address(this)), 1e12, "the share came back");
    }

    /// @notice Property: whatever was assigned or delivered before a cancel, once every assigned slot delivered or
    ///         timed out, the escrow is exactly what was paid plus what was credited back (and the burned fees).
    function testFuzz_cancelTask_escrowConservation(uint8 closeMask, uint8 deliverMask, uint96 rewardRaw) public {
        uint96 reward = uint96(bound(rewardRaw, 1, 0.1 ether));
        vm.deal(address(this), 1000 ether);
        bytes32 taskId = _postTask(3, 2, 1, reward);
        uint256 paid;
        for (uint256 c; c < 3; ++c) {
            _bid(agents[c], _beaconOf(taskId, c, 0));
        }
        vm.warp(block.timestamp + BID_WINDOW + 1);
        for (uint256 c; c < 3; ++c) {
            if (closeMask & (1 << c) != 0) beacon.close(_beaconOf(taskId, c, 0)); // assigned before the cancel
        }
        beacon.cancelTask(taskId);
        for (uint256 c; c < 3; ++c) {
            uint256 id = _beaconOf(taskId, c, 0);
            if (beacon.getBeacon(id).status != ITaskBeacon.Status.Assigned || deliverMask & (1 << c) == 0) continue;
            address ex = beacon.executorsOf(id)[0];
            uint256 b = ex.balance;
            _submit(ex, id, "r");
            paid += ex.balance - b;
        }
        vm.warp(block.timestamp + EXEC_WINDOW + 1);
        for (uint256 c; c < 3; ++c) {
            uint256 id = _beaconOf(taskId, c, 0);
            if (beacon.getBeacon(id).status == ITaskBeacon.Status.Assigned) beacon.reclaimExpired(id);
            assertTrue(beacon.getBeacon(id + 1).status == ITaskBeacon.Status.Unfilled, "every later step closed");
        }
        assertEq(paid + beacon.credits(address(this)), 6 * uint256(reward), "escrow = paid + credited");
        assertEq(address(beacon).balance, beacon.burnedFees() + beacon.credits(address(this)), "nothing stuck");
    }

    /// @dev Shares paid to replacements after reclaims (they never delivered here, so none).
    function _paidLater(uint256, uint96) internal pure returns (uint256) {
        return 0;
    }

    // ------------------------------------------------------------------ the requester's own record

    /// @dev Three agents answer a 3-chain single-step task of the test contract: `liar` alone with "junk", the two
    ///      others agreeing on "4" — the liar is refuted (Lost) in this requester's record.
    function _refuteOnce(address liar, address a, address b) internal {
        bytes32 taskId = _postTask(3, 1, 1, 1e12);
        uint256 first = _beaconOf(taskId, 0, 0);
        for (uint256 c; c < 3; ++c) {
            _bid(liar, first + (c << 3));
            _bid(a, first + (c << 3));
            _bid(b, first + (c << 3));
        }
        vm.warp(block.timestamp + BID_WINDOW + 1);
        for (uint256 c; c < 3; ++c) {
            uint256 id = first + (c << 3);
            beacon.close(id);
            address ex = beacon.executorsOf(id)[0];
            _commit(ex, taskId, id, ex == liar ? "junk" : "4");
        }
        for (uint256 c; c < 3; ++c) {
            address ex = beacon.executorsOf(first + (c << 3))[0];
            _reveal(ex, taskId, ex == liar ? "junk" : "4");
        }
    }

    /// @dev Bids store scores in 1e-9 units: equal up to that rounding.
    function _assertNear(uint256 a, uint256 b, string memory what) internal pure {
        assertLe(a > b ? a - b : b - a, 1e9, what);
    }

    function _bidScoreOn(address who, uint256 beaconId) internal returns (uint256) {
        _bid(who, beaconId);
        ITaskBeacon.Bid[] memory bids = beacon.getBids(beaconId);
        for (uint256 i; i < bids.length; ++i) {
            if (bids[i].agent == who) return bids[i].score;
        }
        revert("no bid");
    }

    /// @notice Attack 5, the attacker's view (reputation farmers): credit bought on a requester's own tasks does
    ///         not buy another requester's trust. An agent refuted `f` times by requester R bids on R's tasks at
    ///         the ledger's score · 2 / (f + 2), however many successes it farmed elsewhere (`farmed`), while on a
    ///         task of a requester with no record of it, and for the agents that agreed, the score is the ledger's.
    function testFuzz_farmedCreditDoesNotBuyARequestersTrust(uint8 farmedRaw, uint8 fRaw) public {
        uint256 farmed = bound(farmedRaw, 0, 60);
        uint256 f = bound(fRaw, 1, 3);
        address[] memory a = agents; // agents 0 and 1 of setUp: the best honest matches
        address farmer = _agent(50);
        _register(farmer, Vectors.unit(0, 100)); // the requirement exactly: the best claim there is
        for (uint256 i; i < f; ++i) _refuteOnce(farmer, a[0], a[1]);
        ledger.setAuthorized(address(this), true); // stands for the farm: successes bought elsewhere
        bytes32 kind = keccak256(abi.encodePacked("symphony.cluster", uint8(0)));
        for (uint256 i; i < farmed; ++i) ledger.recordEvidence(farmer, kind, true);
        (uint32 good, uint32 bad) = beacon.experienceOf(address(this), farmer);
        assertEq(uint256(good) * 100 + bad, f, "R's record of the farmer: f refutations, nothing good");

        (, uint256 id) = _postFinal(1, 1e12);
        (, uint64 ledgerScore,) = ledger.bidScore(farmer, Vectors.unit(0, 100), kind);
        uint256 atR = _bidScoreOn(farmer, id);
        uint256 expected = (uint256(ledgerScore) * 2) / (f + 2);
        _assertNear(atR, expected, "R discounts by its own record");
        (, uint64 honestLedger,) = ledger.bidScore(a[0], Vectors.unit(0, 100), kind);
        _assertNear(_bidScoreOn(a[0], id), honestLedger, "an agent R has no failure with: as the ledger");

        address other = address(0x0F3E);
        vm.deal(other, 1 ether);
        ITaskBeacon.ChainSpec[] memory specs = new ITaskBeacon.ChainSpec[](1);
        bytes32[] memory r = new bytes32[](1);
        r[0] = Vectors.unit(0, 100);
        specs[0] = ITaskBeacon.ChainSpec({requirements: r, payload: bytes("solve: 2+2")});
        vm.prank(other);
        bytes32 otherTask = beacon.postTask{value: _withFee(1e12)}(_spec(1, 1e12), specs);
        uint256 otherId = _beaconOf(otherTask, 0, 0);
        _reqs[otherId >> 3] = r;
        _assertNear(_bidScoreOn(farmer, otherId), ledgerScore, "a requester with no record: the ledger's");
    }
}
