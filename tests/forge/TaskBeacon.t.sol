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

    function setUp() public override {
        super.setUp();
        agents = _registerMany(5); // agent i matches e0 better for lower i
    }

    // ------------------------------------------------------------------ post

    function test_postBeacon_storesAndEmits() public {
        vm.expectEmit(true, true, true, true, address(beacon));
        emit ITaskBeacon.BeaconPosted(
            0, TASK, address(this), 2, 0, Vectors.unit(0, 100), bytes("solve: 2+2"), uint64(T0 + BID_WINDOW), 3, 3 ether, true
        );
        uint256 id = _post(TASK, 2, 3, true, 3 ether);
        assertEq(id, 0, "first id is 0");
        assertEq(_post(TASK, 1, 1, false, 0), 1, "ids are sequential");
        assertEq(beacon.beaconCount(), 2, "count");
        ITaskBeacon.BeaconInfo memory b = beacon.getBeacon(0);
        assertEq(b.taskId, TASK, "task");
        assertEq(b.cotIndex, 2, "cot");
        assertEq(b.executors, 3, "k");
        assertTrue(b.isFinal && !b.reputationWeighted, "flags");
        assertEq(uint256(b.status), uint256(ITaskBeacon.Status.Bidding), "status");
        assertEq(b.requester, address(this), "requester");
        assertEq(b.requirement, Vectors.unit(0, 100), "requirement");
        assertEq(b.payloadHash, keccak256("solve: 2+2"), "payload hash");
        assertEq(b.bidDeadline, T0 + BID_WINDOW, "bid deadline");
        assertEq(b.execDeadline, 0, "no exec deadline before close");
        assertEq(b.execWindow, EXEC_WINDOW, "exec window");
        assertEq(b.reward, 3 ether, "escrow");
        assertEq(address(beacon).balance, 3 ether, "held");
        assertEq(beacon.maxPayloadBytes(), MAX_PAYLOAD, "max payload");
    }

    function test_postBeacon_validates() public {
        bytes memory big = new bytes(MAX_PAYLOAD + 1);
        vm.expectRevert(abi.encodeWithSelector(ITaskBeacon.PayloadTooLarge.selector, MAX_PAYLOAD + 1, MAX_PAYLOAD));
        beacon.postBeacon(TASK, 0, 0, bytes32(0), big, 1, 1, 1, false, false);
        vm.expectRevert(abi.encodeWithSelector(ITaskBeacon.InvalidExecutors.selector, uint8(0)));
        beacon.postBeacon(TASK, 0, 0, bytes32(0), "", 1, 1, 0, false, false);
        vm.expectRevert(abi.encodeWithSelector(ITaskBeacon.InvalidExecutors.selector, uint8(9)));
        beacon.postBeacon(TASK, 0, 0, bytes32(0), "", 1, 1, 9, false, false);
        vm.expectRevert(ITaskBeacon.InvalidWindow.selector);
        beacon.postBeacon(TASK, 0, 0, bytes32(0), "", 0, 1, 1, false, false);
        vm.expectRevert(ITaskBeacon.InvalidWindow.selector);
        beacon.postBeacon(TASK, 0, 0, bytes32(0), "", 1, 0, 1, false, false);
        uint256 huge = uint256(type(uint96).max) + 1;
        vm.deal(address(this), huge);
        vm.expectRevert(abi.encodeWithSelector(ITaskBeacon.RewardTooLarge.selector, huge));
        beacon.postBeacon{value: huge}(TASK, 0, 0, bytes32(0), "", 1, 1, 1, false, false);
        beacon.postBeacon(TASK, 0, 0, bytes32(0), new bytes(MAX_PAYLOAD), 1, 1, 8, false, false); // limits inclusive
    }

    function test_unknownBeacon_everywhere() public {
        bytes memory err = abi.encodeWithSelector(ITaskBeacon.UnknownBeacon.selector, 7);
        vm.expectRevert(err);
        beacon.bid(7);
        vm.expectRevert(err);
        beacon.close(7);
        vm.expectRevert(err);
        beacon.submitResult(7, "x");
        vm.expectRevert(err);
        beacon.reclaimExpired(7);
        vm.expectRevert(err);
        beacon.getBeacon(7);
        vm.expectRevert(err);
        beacon.voteContext(7, address(this));
    }

    // ------------------------------------------------------------------ bid

    function test_bid_scoresOnChain() public {
        uint256 id = _post(TASK, 0, 1, false, 0);
        uint64 expected = uint64(ledger.matchScore(agents[3], Vectors.unit(0, 100)));
        vm.expectEmit(true, true, false, true, address(beacon));
        emit ITaskBeacon.BidPlaced(id, agents[3], expected);
        _bid(agents[3], id);
        ITaskBeacon.Bid[] memory bids = beacon.getBids(id);
        assertEq(bids.length, 1, "one bid");
        assertEq(bids[0].agent, agents[3], "bidder");
        assertEq(bids[0].score, expected, "score from the ledger vector");
        assertLt(expected, 1e18, "not a perfect match");
    }

    function test_bid_reputationWeighted() public {
        ledger.setAuthorized(address(this), true);
        ledger.adjustReputation(agents[0], -0.5e18);
        uint256 id = beacon.postBeacon(TASK, 0, 0, Vectors.unit(0, 100), "", BID_WINDOW, EXEC_WINDOW, 1, true, false);
        _bid(agents[0], id);
        assertEq(beacon.getBids(id)[0].score, ledger.matchScore(agents[0], Vectors.unit(0, 100)) / 2, "x0.5");
    }

    function test_bid_reverts() public {
        uint256 id = _post(TASK, 0, 1, false, 0);
        _bid(agents[0], id);
        vm.prank(agents[0]);
        vm.expectRevert(abi.encodeWithSelector(ITaskBeacon.AlreadyBid.selector, id, agents[0]));
        beacon.bid(id);

        address stranger = _agent(99);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(ITaskBeacon.AgentNotAvailable.selector, stranger));
        beacon.bid(id);

        vm.prank(agents[1]);
        ledger.heartbeat(false, 4);
        vm.prank(agents[1]);
        vm.expectRevert(abi.encodeWithSelector(ITaskBeacon.AgentNotAvailable.selector, agents[1]));
        beacon.bid(id);

        vm.warp(T0 + BID_WINDOW); // inclusive deadline
        _bid(agents[2], id);
        vm.warp(T0 + BID_WINDOW + 1);
        vm.prank(agents[3]);
        vm.expectRevert(abi.encodeWithSelector(ITaskBeacon.BiddingClosed.selector, id));
        beacon.bid(id);

        beacon.close(id);
        vm.prank(agents[3]);
        vm.expectRevert(abi.encodeWithSelector(ITaskBeacon.WrongStatus.selector, id, ITaskBeacon.Status.Assigned));
        beacon.bid(id);
    }

    function test_bid_revertsTooManyBids() public {
        uint256 id = _post(TASK, 0, 1, false, 0);
        for (uint256 i; i < 32; ++i) {
            address a = _agent(100 + i);
            _register(a, Vectors.unit(0, 1));
            _bid(a, id);
        }
        address late = _agent(200);
        _register(late, Vectors.unit(0, 1));
        vm.prank(late);
        vm.expectRevert(abi.encodeWithSelector(ITaskBeacon.TooManyBids.selector, id));
        beacon.bid(id);
        assertEq(beacon.getBids(id).length, 32, "capped");
    }

    // ------------------------------------------------------------------ close

    function test_close_assignsTopKWithEarlierBidWinningTies() public {
        address twin = _agent(50);
        _register(twin, ledger.getAgent(agents[1]).capability); // same score as agents[1]
        uint256 id = _post(TASK, 0, 2, false, 0);
        _bid(agents[3], id);
        _bid(twin, id);
        _bid(agents[0], id);
        _bid(agents[1], id);
        _bid(agents[4], id);
        vm.warp(T0 + BID_WINDOW);
        vm.expectRevert(abi.encodeWithSelector(ITaskBeacon.BiddingOpen.selector, id));
        beacon.close(id);
        vm.warp(T0 + BID_WINDOW + 1);
        ITaskBeacon.Bid[] memory bids = beacon.getBids(id);
        assertEq(bids[1].score, bids[3].score, "twin and agents[1] tie");
        uint64 deadline = uint64(T0 + BID_WINDOW + 1 + EXEC_WINDOW);
        vm.expectEmit(true, true, true, true, address(beacon));
        emit ITaskBeacon.ExecutorAssigned(id, agents[0], TASK, bids[2].score, deadline);
        vm.expectEmit(true, true, true, true, address(beacon));
        emit ITaskBeacon.ExecutorAssigned(id, twin, TASK, bids[1].score, deadline);
        beacon.close(id);
        address[] memory ex = beacon.executorsOf(id);
        assertEq(ex.length, 2, "k executors");
        assertEq(ex[0], twin, "tie at the cut-off goes to the earlier bid");
        assertEq(ex[1], agents[0], "best score");
        assertTrue(beacon.isExecutor(id, twin) && !beacon.isExecutor(id, agents[1]), "isExecutor");
        assertFalse(beacon.isExecutor(id, address(0xdead)), "non-bidder");
        ITaskBeacon.BeaconInfo memory b = beacon.getBeacon(id);
        assertEq(uint256(b.status), uint256(ITaskBeacon.Status.Assigned), "assigned");
        assertEq(b.execDeadline, T0 + BID_WINDOW + 1 + EXEC_WINDOW, "exec deadline");
        vm.expectRevert(abi.encodeWithSelector(ITaskBeacon.WrongStatus.selector, id, ITaskBeacon.Status.Assigned));
        beacon.close(id);
    }

    function test_close_noBids_unfilledAndRefunded() public {
        uint256 id = _post(TASK, 0, 2, true, 2 ether);
        uint256 before = address(this).balance;
        vm.warp(T0 + BID_WINDOW + 1);
        vm.expectEmit(true, false, false, true, address(beacon));
        emit ITaskBeacon.BeaconUnfilled(id, 2 ether);
        beacon.close(id);
        assertEq(address(this).balance - before, 2 ether, "refund");
        assertEq(uint256(beacon.getBeacon(id).status), uint256(ITaskBeacon.Status.Unfilled), "unfilled");
        assertEq(beacon.getBeacon(id).reward, 0, "escrow cleared");
        assertEq(beacon.finalExecutorCount(TASK), 0, "no voters");
    }

    function test_close_fewerBidsThanK_assignsAllAndRefundsTheRest() public {
        uint256 id = _post(TASK, 0, 4, true, 4 ether);
        _bid(agents[0], id);
        uint256 before = address(this).balance;
        vm.warp(T0 + BID_WINDOW + 1);
        vm.expectEmit(true, true, false, true, address(beacon));
        emit ITaskBeacon.RewardRefunded(id, address(this), 3 ether);
        beacon.close(id);
        assertEq(address(this).balance - before, 3 ether, "3 unfilled shares refunded");
        assertEq(beacon.executorsOf(id).length, 1, "the only bidder");
        assertEq(beacon.finalExecutorCount(TASK), 1, "one voter expected");
        uint256 paid = agents[0].balance;
        _submit(agents[0], id, "4");
        assertEq(agents[0].balance - paid, 1 ether, "its share");
        assertEq(address(beacon).balance, 0, "nothing left");
    }

    function test_close_revertsTransferFailed_forRefusingRequester() public {
        RefusingRequester r = new RefusingRequester();
        uint256 id = r.post{value: 1 ether}(beacon, Vectors.unit(0, 1));
        vm.warp(T0 + 11);
        vm.expectRevert(ITaskBeacon.TransferFailed.selector);
        beacon.close(id);
    }

    // ------------------------------------------------------------------ submit

    function test_submitResult_paysSharesAndCompletes() public {
        uint256 id = _post(TASK, 3, 3, false, 10);
        for (uint256 i; i < 3; ++i) {
            _bid(agents[i], id);
        }
        _closeAfterWindow(id);
        uint256[3] memory before = [agents[0].balance, agents[1].balance, agents[2].balance];
        vm.expectEmit(true, true, true, true, address(beacon));
        emit ITaskBeacon.ResultSubmitted(id, agents[1], TASK, keccak256("four"), bytes("four"));
        _submit(agents[1], id, "four");
        _submit(agents[0], id, "4");
        vm.expectEmit(true, true, false, true, address(beacon));
        emit ITaskBeacon.BeaconCompleted(id, TASK);
        _submit(agents[2], id, "IV");
        assertEq(agents[1].balance - before[1], 3, "10/3");
        assertEq(agents[0].balance - before[0], 3, "7/2");
        assertEq(agents[2].balance - before[2], 4, "last takes the dust");
        assertEq(address(beacon).balance, 0, "escrow empty");
        ITaskBeacon.BeaconInfo memory b = beacon.getBeacon(id);
        assertEq(uint256(b.status), uint256(ITaskBeacon.Status.Completed), "completed");
        assertEq(b.delivered, 3, "delivered");
        assertEq(beacon.resultHashOf(id, agents[2]), keccak256("IV"), "result hash");
        ITaskBeacon.Bid[] memory bids = beacon.getBids(id);
        uint256 mean = (uint256(bids[0].score) + bids[1].score + bids[2].score) / 3;
        assertEq(beacon.chainWeight(TASK, 3), mean, "chain weight = mean score");
        assertEq(beacon.chainWeight(TASK, 4), 0, "empty chain");
    }

    function test_submitResult_reverts() public {
        uint256 id = _post(TASK, 0, 1, false, 0);
        _bid(agents[0], id);
        _bid(agents[1], id);
        vm.prank(agents[0]);
        vm.expectRevert(abi.encodeWithSelector(ITaskBeacon.WrongStatus.selector, id, ITaskBeacon.Status.Bidding));
        beacon.submitResult(id, "x");
        _closeAfterWindow(id);
        vm.prank(agents[1]);
        vm.expectRevert(abi.encodeWithSelector(ITaskBeacon.NotAssigned.selector, id, agents[1]));
        beacon.submitResult(id, "x"); // lost the auction
        vm.prank(agents[4]);
        vm.expectRevert(abi.encodeWithSelector(ITaskBeacon.NotAssigned.selector, id, agents[4]));
        beacon.submitResult(id, "x"); // never bid
        vm.prank(agents[0]);
        vm.expectRevert(abi.encodeWithSelector(ITaskBeacon.PayloadTooLarge.selector, MAX_PAYLOAD + 1, MAX_PAYLOAD));
        beacon.submitResult(id, new bytes(MAX_PAYLOAD + 1));
        vm.warp(block.timestamp + EXEC_WINDOW + 1);
        vm.prank(agents[0]);
        vm.expectRevert(abi.encodeWithSelector(ITaskBeacon.DeadlinePassed.selector, id));
        beacon.submitResult(id, "x");
    }

    function test_submitResult_revertsAlreadySubmitted() public {
        uint256 id = _post(TASK, 0, 2, false, 0);
        _bid(agents[0], id);
        _bid(agents[1], id);
        _closeAfterWindow(id);
        _submit(agents[0], id, "x");
        vm.prank(agents[0]);
        vm.expectRevert(abi.encodeWithSelector(ITaskBeacon.AlreadySubmitted.selector, id, agents[0]));
        beacon.submitResult(id, "y");
    }

    function test_submitResult_revertsTransferFailed_forRefusingExecutor() public {
        ContractAgent a = new ContractAgent();
        a.join{value: MIN_STAKE}(ledger, Vectors.unit(0, 1));
        a.setMode(ContractAgent.Mode.Refuse, beacon, 0);
        uint256 id = _post(TASK, 0, 1, false, 1 ether);
        a.bid(beacon, id);
        _closeAfterWindow(id);
        vm.expectRevert(ITaskBeacon.TransferFailed.selector);
        a.submit(beacon, id, "x");
    }

    function test_submitResult_reentryIsBlocked() public {
        ContractAgent a = new ContractAgent();
        a.join{value: MIN_STAKE}(ledger, Vectors.unit(0, 1));
        uint256 id = _post(TASK, 0, 1, false, 1 ether);
        a.setMode(ContractAgent.Mode.Reenter, beacon, id);
        a.bid(beacon, id);
        _closeAfterWindow(id);
        a.submit(beacon, id, "x");
        assertEq(a.received(), 1 ether, "paid once");
        assertEq(keccak256(a.reentryError()), keccak256(abi.encodeWithSelector(ReentrancyLock.Reentrancy.selector)), "re-entry refused by the lock");
    }

    // ------------------------------------------------------------------ reclaim

    function test_reclaimExpired_replacesWithBestRemainingBidder() public {
        uint256 id = _post(TASK, 0, 2, true, 2 ether);
        for (uint256 i; i < 4; ++i) {
            _bid(agents[i], id);
        }
        _closeAfterWindow(id); // agents 0 and 1 assigned
        _submit(agents[0], id, "done");
        vm.expectRevert(abi.encodeWithSelector(ITaskBeacon.DeadlineNotPassed.selector, id));
        beacon.reclaimExpired(id);
        vm.warp(block.timestamp + EXEC_WINDOW + 1);
        uint64 newDeadline = uint64(block.timestamp + EXEC_WINDOW);
        uint64 score2 = beacon.getBids(id)[2].score;
        vm.expectEmit(true, true, false, true, address(beacon));
        emit ITaskBeacon.ExecutorTimedOut(id, agents[1]);
        vm.expectEmit(true, true, true, true, address(beacon));
        emit ITaskBeacon.ExecutorAssigned(id, agents[2], TASK, score2, newDeadline);
        vm.expectEmit(true, true, true, true, address(ledger)); // interactions come last
        emit ICapabilityLedger.ReputationChanged(agents[1], 0.9e18, -0.1e18, address(beacon));
        beacon.reclaimExpired(id);
        assertEq(ledger.reputationOf(agents[1]), 0.9e18, "penalised");
        assertFalse(beacon.isExecutor(id, agents[1]), "timed out executor dropped");
        assertTrue(beacon.isExecutor(id, agents[2]), "replacement assigned");
        assertEq(beacon.getBeacon(id).execDeadline, newDeadline, "new deadline");
        vm.prank(agents[1]);
        vm.expectRevert(abi.encodeWithSelector(ITaskBeacon.NotAssigned.selector, id, agents[1]));
        beacon.submitResult(id, "late");
        _submit(agents[2], id, "done");
        assertEq(uint256(beacon.getBeacon(id).status), uint256(ITaskBeacon.Status.Completed), "completed");
        assertEq(beacon.finalExecutorCount(TASK), 2, "slots unchanged by replacement");
        assertEq(address(beacon).balance, 0, "all paid");
    }

    function test_reclaimExpired_refundsWhenNobodyIsLeft() public {
        uint256 id = _post(TASK, 0, 2, true, 2 ether);
        _bid(agents[0], id);
        _bid(agents[1], id);
        _closeAfterWindow(id);
        _submit(agents[0], id, "done");
        vm.warp(block.timestamp + EXEC_WINDOW + 1);
        uint256 before = address(this).balance;
        vm.expectEmit(true, true, false, true, address(beacon));
        emit ITaskBeacon.RewardRefunded(id, address(this), 1 ether);
        beacon.reclaimExpired(id);
        assertEq(address(this).balance - before, 1 ether, "share refunded");
        assertEq(uint256(beacon.getBeacon(id).status), uint256(ITaskBeacon.Status.Completed), "the delivered slot completes it");
        assertEq(beacon.finalExecutorCount(TASK), 1, "refunded slot is no longer a voter");
        vm.expectRevert(abi.encodeWithSelector(ITaskBeacon.WrongStatus.selector, id, ITaskBeacon.Status.Completed));
        beacon.reclaimExpired(id);
    }

    function test_reclaimExpired_everyoneLate_unfilled() public {
        uint256 id = _post(TASK, 0, 2, true, 3 ether);
        _bid(agents[0], id);
        _bid(agents[1], id);
        _closeAfterWindow(id);
        vm.warp(block.timestamp + EXEC_WINDOW + 1);
        uint256 before = address(this).balance;
        vm.expectEmit(true, false, false, true, address(beacon));
        emit ITaskBeacon.BeaconUnfilled(id, 3 ether);
        beacon.reclaimExpired(id);
        assertEq(address(this).balance - before, 3 ether, "all refunded");
        assertEq(uint256(beacon.getBeacon(id).status), uint256(ITaskBeacon.Status.Unfilled), "unfilled");
        assertEq(ledger.reputationOf(agents[0]), 0.9e18, "agent 0 penalised");
        assertEq(ledger.reputationOf(agents[1]), 0.9e18, "agent 1 penalised");
        assertEq(beacon.finalExecutorCount(TASK), 0, "no voters left");
        assertEq(beacon.executorsOf(id).length, 0, "no executors");
    }

    function test_voteContext() public {
        uint256 id = _deliveredFinal(_slice(2), 5);
        (bytes32 taskId, uint16 cot, bool isFinal, bytes32 h, uint256 n) = beacon.voteContext(id, agents[1]);
        assertEq(taskId, TASK, "task");
        assertEq(cot, 5, "cot");
        assertTrue(isFinal, "final");
        assertEq(h, keccak256("4"), "result hash");
        assertEq(n, 2, "final executors");
        (,,, h,) = beacon.voteContext(id, agents[3]);
        assertEq(h, bytes32(0), "no result");
    }

    function test_taskIdsBelongToTheirRequester() public {
        _post(TASK, 0, 1, false, 0);
        assertEq(beacon.taskRequester(TASK), address(this), "owner");
        vm.prank(agents[0]);
        vm.expectRevert(abi.encodeWithSelector(ITaskBeacon.NotTaskRequester.selector, TASK, agents[0]));
        beacon.postBeacon(TASK, 1, 0, Vectors.unit(0, 100), "x", 10, 10, 1, false, true);
        vm.prank(agents[0]);
        vm.expectRevert(abi.encodeWithSelector(ITaskBeacon.NotTaskRequester.selector, TASK, agents[0]));
        beacon.openTask(TASK, 4);
    }

    function test_openTask_declaredVotersRaiseExpectedVoters() public {
        bytes32 task = keccak256("declared");
        vm.expectEmit(true, true, false, true);
        emit ITaskBeacon.TaskOpened(task, address(this), 3);
        beacon.openTask(task, 3);
        assertEq(beacon.expectedVoters(task), 3, "declared");
        assertEq(beacon.finalExecutorCount(task), 0, "no final slots yet");
    }

    // ------------------------------------------------------------------ fuzz

    /// @dev close() must pick exactly the reference top-k (score desc, earliest bid on ties).
    function testFuzz_close_matchesReferenceTopK(bytes32 seed, uint8 nRaw, uint8 kRaw) public {
        uint256 n = bound(nRaw, 1, 10);
        uint256 k = bound(kRaw, 1, 8);
        bytes32 req = Vectors.sanitize(keccak256(abi.encode(seed, "req")));
        vm.assume(req != bytes32(0));
        uint256 id = beacon.postBeacon(TASK, 0, 0, req, "", BID_WINDOW, EXEC_WINDOW, uint8(k), false, false);
        for (uint256 i; i < n; ++i) {
            address a = _agent(300 + i);
            // a few duplicated vectors force ties
            bytes32 cap = Vectors.sanitize(keccak256(abi.encode(seed, i % 4 == 3 ? 0 : i)));
            if (cap == bytes32(0)) cap = Vectors.unit(0, 1);
            _register(a, cap);
            _bid(a, id);
        }
        _closeAfterWindow(id);
        ITaskBeacon.Bid[] memory bids = beacon.getBids(id);
        bool[] memory taken = new bool[](n);
        uint256 m = k < n ? k : n;
        address[] memory expected = new address[](m);
        for (uint256 s; s < m; ++s) {
            uint256 best = type(uint256).max;
            for (uint256 i; i < n; ++i) {
                if (taken[i]) continue;
                if (best == type(uint256).max || bids[i].score > bids[best].score) best = i;
            }
            taken[best] = true;
            expected[s] = bids[best].agent;
        }
        for (uint256 i; i < n; ++i) {
            assertEq(beacon.isExecutor(id, bids[i].agent), taken[i], "executor set = reference top-k");
        }
        assertEq(beacon.executorsOf(id).length, m, "min(k, n) executors");
    }

    /// @dev Whatever subset delivers, payouts + refunds == reward and the escrow ends empty.
    function testFuzz_rewardConservation(uint96 rewardRaw, uint8 kRaw, uint8 deliverMask) public {
        uint256 reward = bound(rewardRaw, 0, 1000 ether);
        uint256 k = bound(kRaw, 1, 5);
        vm.deal(address(this), reward);
        uint256 id = _post(TASK, 0, uint8(k), false, reward);
        for (uint256 i; i < 5; ++i) {
            _bid(agents[i], id);
        }
        _closeAfterWindow(id);
        uint256 paid;
        for (uint256 i; i < k; ++i) {
            if (deliverMask & (1 << i) == 0) continue;
            uint256 b = agents[i].balance;
            _submit(agents[i], id, "r");
            paid += agents[i].balance - b;
        }
        uint256 refunded;
        uint256 rounds;
        while (beacon.getBeacon(id).status == ITaskBeacon.Status.Assigned && rounds++ < 8) {
            vm.warp(block.timestamp + EXEC_WINDOW + 1);
            uint256 b = address(this).balance;
            beacon.reclaimExpired(id);
            refunded += address(this).balance - b;
        }
        assertEq(paid + refunded, reward, "conservation");
        assertEq(address(beacon).balance, 0, "escrow empty");
        assertEq(beacon.getBeacon(id).reward, 0, "book entry empty");
    }

    function _slice(uint256 n) internal view returns (address[] memory out) {
        out = new address[](n);
        for (uint256 i; i < n; ++i) {
            out[i] = agents[i];
        }
    }
}
