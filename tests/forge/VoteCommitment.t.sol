// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {SymphonyFixture} from "./utils/SymphonyFixture.sol";
import {Vectors} from "./utils/Vectors.sol";
import {ITaskBeacon} from "../../contracts/interfaces/ITaskBeacon.sol";
import {IVoteCommitment} from "../../contracts/interfaces/IVoteCommitment.sol";
import {VoteCommitment} from "../../contracts/VoteCommitment.sol";

contract VoteCommitmentTest is SymphonyFixture {
    address[] internal agents;

    function setUp() public override {
        super.setUp();
        agents = _registerMany(6);
    }

    function _group(uint256 from, uint256 n) internal view returns (address[] memory out) {
        out = new address[](n);
        for (uint256 i; i < n; ++i) {
            out[i] = agents[from + i];
        }
    }

    function _phase(bytes32 taskId) internal view returns (IVoteCommitment.Phase) {
        return votes.getVote(taskId).phase;
    }

    // ------------------------------------------------------------------ happy paths

    function test_lifecycle_threeAgreeingAgents() public {
        uint256 id = _deliveredFinal(_group(0, 3), 0);
        uint256 w = beacon.chainWeight(TASK, 0);
        _commit(agents[0], id, "4");
        IVoteCommitment.VoteInfo memory v = votes.getVote(TASK);
        assertEq(uint256(v.phase), uint256(IVoteCommitment.Phase.Commit), "commit phase");
        assertEq(v.commitDeadline, block.timestamp + COMMIT_WINDOW, "commit deadline from first commit");
        assertEq(v.expectedVoters, 3, "expected = final executors");
        _commit(agents[1], id, "4");
        vm.expectEmit(true, false, false, true, address(votes));
        emit IVoteCommitment.RevealPhaseStarted(TASK, uint64(block.timestamp + REVEAL_WINDOW));
        _commit(agents[2], id, "4");
        assertEq(uint256(_phase(TASK)), uint256(IVoteCommitment.Phase.Reveal), "auto reveal when all committed");
        assertEq(votes.votersOf(TASK).length, 3, "voters");
        assertEq(votes.votersOf(TASK)[2], agents[2], "voter order");

        vm.expectEmit(true, true, false, true, address(votes));
        emit IVoteCommitment.VoteRevealed(TASK, agents[0], "4", keccak256("cot"), w);
        _reveal(agents[0], "4");
        _reveal(agents[1], "4");
        _reveal(agents[2], "4");
        vm.expectEmit(true, false, false, true, address(votes));
        emit IVoteCommitment.VoteFinalized(TASK, "4", 3 * w, 3 * w, 3, 3);
        votes.finalize(TASK);
        v = votes.getVote(TASK);
        assertEq(uint256(v.phase), uint256(IVoteCommitment.Phase.Finalized), "finalized");
        assertEq(v.winningAnswer, "4", "answer");
        assertEq(v.winningWeight, 3 * w, "weight");
        assertEq(v.totalWeight, 3 * w, "total");
        assertEq(v.reveals, 3, "reveals");
        for (uint256 i; i < 3; ++i) {
            assertEq(ledger.reputationOf(agents[i]), 1.05e18, "agreeing voter rewarded");
        }
    }

    function test_heavierChainWins_andLosersAreNotRewarded() public {
        uint256 strong = _deliveredFinal(_group(0, 1), 0); // best vector
        uint256 weak = _deliveredFinal(_group(4, 2), 1); // two weaker agents
        uint256 wStrong = beacon.chainWeight(TASK, 0);
        uint256 wWeak = beacon.chainWeight(TASK, 1);
        assertGt(wStrong, wWeak, "chain weights differ");
        assertGt(2 * wWeak, wStrong, "but two weak voters outweigh one strong");
        _commit(agents[0], strong, "4");
        _commit(agents[4], weak, "5");
        _commit(agents[5], weak, "5");
        _reveal(agents[0], "4");
        _reveal(agents[4], "5");
        _reveal(agents[5], "5");
        votes.finalize(TASK);
        IVoteCommitment.VoteInfo memory v = votes.getVote(TASK);
        assertEq(v.winningAnswer, "5", "weighted majority");
        assertEq(v.winningWeight, 2 * wWeak, "winning weight");
        assertEq(v.totalWeight, 2 * wWeak + wStrong, "total weight");
        assertEq(ledger.reputationOf(agents[0]), 1e18, "dissenter unchanged");
        assertEq(ledger.reputationOf(agents[4]), 1.05e18, "agreeing rewarded");
    }

    function test_emptyAnswerAbstains_revealedWithoutWeightOrPenalty() public {
        uint256 a = _deliveredFinal(_group(0, 1), 0);
        uint256 b = _deliveredFinal(_group(4, 1), 1);
        _commit(agents[0], a, "");
        _commit(agents[4], b, "7");
        _reveal(agents[0], "");
        _reveal(agents[4], "7");
        votes.finalize(TASK);
        IVoteCommitment.VoteInfo memory v = votes.getVote(TASK);
        assertEq(v.reveals, 2, "the abstention counts as revealed");
        assertEq(v.winningAnswer, "7", "winner");
        assertEq(v.totalWeight, beacon.chainWeight(TASK, 1), "the abstainer adds no weight");
        assertEq(ledger.reputationOf(agents[0]), 1e18, "abstainer neither rewarded nor penalised");
    }

    function test_allAbstain_finalizesWithNoAnswer() public {
        uint256 a = _deliveredFinal(_group(0, 1), 0);
        _commit(agents[0], a, "");
        _reveal(agents[0], "");
        votes.finalize(TASK);
        IVoteCommitment.VoteInfo memory v = votes.getVote(TASK);
        assertEq(v.winningAnswer, "", "no answer");
        assertEq(v.totalWeight, 0, "no weight");
        assertEq(ledger.reputationOf(agents[0]), 1e18, "no reward");
    }

    function test_tie_goesToTheAnswerRevealedFirst_evenAfterOvertaking() public {
        // Three single-voter chains with identical weights: A, then B, then A again would make A win 2:1, so use
        // two chains for B: reveal order A, B, B', A' -> 2:2 tie; A was revealed first and must win.
        address twin = _agent(60);
        _register(twin, ledger.getAgent(agents[0]).capability);
        address twin2 = _agent(61);
        _register(twin2, ledger.getAgent(agents[0]).capability);
        address twin3 = _agent(62);
        _register(twin3, ledger.getAgent(agents[0]).capability);
        address[] memory one = new address[](1);
        one[0] = agents[0];
        uint256 b0 = _deliveredFinal(one, 0);
        one[0] = twin;
        uint256 b1 = _deliveredFinal(one, 1);
        one[0] = twin2;
        uint256 b2 = _deliveredFinal(one, 2);
        one[0] = twin3;
        uint256 b3 = _deliveredFinal(one, 3);
        _commit(agents[0], b0, "A");
        _commit(twin, b1, "B");
        _commit(twin2, b2, "B");
        _commit(twin3, b3, "A");
        _reveal(agents[0], "A");
        _reveal(twin, "B");
        _reveal(twin2, "B"); // B leads 2:1
        assertEq(votes.getVote(TASK).winningAnswer, "B", "running leader");
        _reveal(twin3, "A"); // 2:2, A revealed first
        votes.finalize(TASK);
        assertEq(votes.getVote(TASK).winningAnswer, "A", "tie -> first revealed answer");
        assertEq(ledger.reputationOf(twin), 1e18, "B voters not rewarded");
        assertEq(ledger.reputationOf(twin3), 1.05e18, "A voters rewarded");
    }

    function test_commitWindow_startRevealAndPenaltyForSilentVoters() public {
        uint256 id = _deliveredFinal(_group(0, 3), 0);
        _commit(agents[0], id, "4");
        _commit(agents[1], id, "4");
        vm.prank(agents[3]); // not the task's requester
        vm.expectRevert(abi.encodeWithSelector(IVoteCommitment.CommitWindowOpen.selector, TASK));
        votes.startReveal(TASK);
        vm.warp(block.timestamp + COMMIT_WINDOW + 1);
        vm.prank(agents[2]);
        vm.expectRevert(abi.encodeWithSelector(IVoteCommitment.CommitWindowOver.selector, TASK));
        votes.commit(TASK, id, bytes32(uint256(1)));
        votes.startReveal(TASK);
        vm.expectRevert(abi.encodeWithSelector(IVoteCommitment.WrongPhase.selector, TASK, IVoteCommitment.Phase.Reveal));
        votes.startReveal(TASK);
        _reveal(agents[0], "4");
        vm.expectRevert(abi.encodeWithSelector(IVoteCommitment.RevealNotOver.selector, TASK));
        votes.finalize(TASK);
        vm.warp(block.timestamp + REVEAL_WINDOW + 1);
        vm.prank(agents[1]);
        vm.expectRevert(abi.encodeWithSelector(IVoteCommitment.RevealWindowOver.selector, TASK));
        votes.reveal(TASK, "4", keccak256("cot"), bytes32(uint256(uint160(agents[1]))));
        vm.expectEmit(true, true, false, true, address(votes));
        emit IVoteCommitment.VotePenalized(TASK, agents[1]);
        votes.finalize(TASK);
        IVoteCommitment.VoteInfo memory v = votes.getVote(TASK);
        assertEq(v.commits, 2, "commits");
        assertEq(v.reveals, 1, "reveals");
        assertEq(ledger.reputationOf(agents[0]), 1.05e18, "revealer rewarded");
        assertEq(ledger.reputationOf(agents[1]), 0.9e18, "silent voter penalised");
        assertEq(ledger.reputationOf(agents[2]), 1e18, "non-committer untouched");
    }

    function test_reveal_startsRevealPhaseLazilyAfterCommitWindow() public {
        uint256 id = _deliveredFinal(_group(0, 2), 0);
        _commit(agents[0], id, "4");
        vm.prank(agents[0]);
        vm.expectRevert(abi.encodeWithSelector(IVoteCommitment.WrongPhase.selector, TASK, IVoteCommitment.Phase.Commit));
        votes.reveal(TASK, "4", keccak256("cot"), bytes32(uint256(uint160(agents[0]))));
        vm.warp(block.timestamp + COMMIT_WINDOW + 1);
        _reveal(agents[0], "4");
        assertEq(uint256(_phase(TASK)), uint256(IVoteCommitment.Phase.Reveal), "reveal phase");
        votes.finalize(TASK); // every commitment revealed
        assertEq(votes.getVote(TASK).winningAnswer, "4", "answer");
    }

    function test_finalizedVoteNeverChanges() public {
        uint256 id = _deliveredFinal(_group(0, 2), 0);
        _commit(agents[0], id, "4");
        _commit(agents[1], id, "4");
        _reveal(agents[0], "4");
        vm.warp(block.timestamp + REVEAL_WINDOW + 1);
        votes.finalize(TASK);
        bytes memory before = abi.encode(votes.getVote(TASK));
        bytes memory wrong = abi.encodeWithSelector(IVoteCommitment.WrongPhase.selector, TASK, IVoteCommitment.Phase.Finalized);
        vm.expectRevert(wrong);
        votes.finalize(TASK);
        vm.expectRevert(wrong);
        votes.startReveal(TASK);
        vm.prank(agents[1]);
        vm.expectRevert(wrong);
        votes.reveal(TASK, "4", keccak256("cot"), bytes32(uint256(uint160(agents[1]))));
        vm.prank(agents[1]);
        vm.expectRevert(wrong);
        votes.commit(TASK, id, bytes32(uint256(5)));
        assertEq(keccak256(abi.encode(votes.getVote(TASK))), keccak256(before), "unchanged");
    }

    function test_longAndBoundaryAnswers_talliedAndReturnedExactly() public {
        // 19 bytes are stored inline, 20+ bytes by hash with the text aside; both must round-trip exactly and
        // answers sharing a prefix must stay distinct.
        string memory long = "The answer is seventy-two clips, because 48 + 24 = 72 (April plus May).";
        string memory long2 = "The answer is seventy-two clips, because 48 + 24 = 72 (April plus May)!";
        string memory b19 = "abcdefghijklmnopqrs";
        string memory b20 = "abcdefghijklmnopqrst";
        address[] memory grp = _group(0, 6);
        uint256 id = _deliveredFinal(grp, 0);
        string[6] memory answers = [long, long2, long, b19, b20, b19];
        for (uint256 i; i < 6; ++i) {
            _commit(grp[i], id, answers[i]);
        }
        _reveal(grp[3], b19);
        assertEq(votes.getVote(TASK).winningAnswer, b19, "19-byte inline answer");
        _reveal(grp[4], b20);
        _reveal(grp[0], long);
        _reveal(grp[1], long2);
        assertEq(votes.getVote(TASK).winningAnswer, b19, "1:1:1:1 tie -> first revealed");
        _reveal(grp[2], long);
        assertEq(votes.getVote(TASK).winningAnswer, long, "long answer leads 2:1");
        _reveal(grp[5], b19);
        votes.finalize(TASK);
        IVoteCommitment.VoteInfo memory v = votes.getVote(TASK);
        assertEq(v.winningAnswer, b19, "2:2 tie between b19 and long -> b19 revealed first");
        uint256 w = beacon.chainWeight(TASK, 0);
        assertEq(v.winningWeight, 2 * w, "winning weight");
        assertEq(v.totalWeight, 6 * w, "total");
        assertEq(ledger.reputationOf(grp[5]), 1.05e18, "b19 voter rewarded");
        assertEq(ledger.reputationOf(grp[0]), 1e18, "long voter not rewarded");
        assertEq(ledger.reputationOf(grp[4]), 1e18, "20-byte prefix-sharing answer is a different answer");
    }

    function test_longAnswerWins_textStoredAside() public {
        string memory long = "The answer is seventy-two clips, because 48 + 24 = 72 (April plus May).";
        uint256 id = _deliveredFinal(_group(0, 2), 0);
        _commit(agents[0], id, long);
        _commit(agents[1], id, long);
        _reveal(agents[0], long);
        _reveal(agents[1], long);
        vm.expectEmit(true, false, false, true, address(votes));
        emit IVoteCommitment.VoteFinalized(TASK, long, 2 * beacon.chainWeight(TASK, 0), 2 * beacon.chainWeight(TASK, 0), 2, 2);
        votes.finalize(TASK);
        assertEq(votes.getVote(TASK).winningAnswer, long, "long text");
    }

    function test_hugeWindows_saturateInsteadOfWrapping() public {
        VoteCommitment slow = new VoteCommitment(address(ledger), address(beacon), type(uint64).max, type(uint64).max);
        ledger.setAuthorized(address(slow), true);
        uint256 id = _deliveredFinal(_group(0, 2), 0);
        vm.prank(agents[0]);
        slow.commit(TASK, id, _commitment(TASK, agents[0], "4", keccak256("cot"), bytes32(uint256(uint160(agents[0])))));
        assertEq(slow.getVote(TASK).commitDeadline, type(uint40).max, "saturated commit deadline");
        vm.warp(block.timestamp + 365 days);
        vm.prank(agents[3]); // not the task's requester
        vm.expectRevert(abi.encodeWithSelector(IVoteCommitment.CommitWindowOpen.selector, TASK));
        slow.startReveal(TASK);
    }

    function test_requesterMayEndTheCommitPhaseEarly() public {
        uint256 id = _deliveredFinal(_group(0, 3), 0);
        _commit(agents[0], id, "4");
        assertEq(beacon.taskRequester(TASK), address(this), "this test is the requester");
        votes.startReveal(TASK); // two chains will never commit: the requester moves on at once
        assertEq(uint256(_phase(TASK)), uint256(IVoteCommitment.Phase.Reveal), "reveal phase");
        _reveal(agents[0], "4");
        votes.finalize(TASK);
        assertEq(votes.getVote(TASK).winningAnswer, "4", "winner");
    }

    // ------------------------------------------------------------------ commit errors

    function test_commit_eligibility() public {
        uint256 fin = _deliveredFinal(_group(0, 2), 0);
        uint256 notFinal = _post(TASK, 1, 1, false, 0);
        _bid(agents[2], notFinal);
        _closeAfterWindow(notFinal);
        _submit(agents[2], notFinal, "x");
        uint256 pending = _post(TASK, 2, 1, true, 0);
        _bid(agents[3], pending);
        _closeAfterWindow(pending);

        vm.prank(agents[2]);
        vm.expectRevert(abi.encodeWithSelector(IVoteCommitment.NotFinalExecutor.selector, TASK, notFinal, agents[2]));
        votes.commit(TASK, notFinal, bytes32(uint256(1)));
        vm.prank(agents[0]);
        vm.expectRevert(abi.encodeWithSelector(IVoteCommitment.NotFinalExecutor.selector, bytes32("other"), fin, agents[0]));
        votes.commit(bytes32("other"), fin, bytes32(uint256(1)));
        vm.prank(agents[5]);
        vm.expectRevert(abi.encodeWithSelector(IVoteCommitment.NotFinalExecutor.selector, TASK, fin, agents[5]));
        votes.commit(TASK, fin, bytes32(uint256(1)));
        vm.prank(agents[3]);
        vm.expectRevert(abi.encodeWithSelector(IVoteCommitment.ResultNotDelivered.selector, pending, agents[3]));
        votes.commit(TASK, pending, bytes32(uint256(1)));
        vm.prank(agents[0]);
        vm.expectRevert(abi.encodeWithSelector(ITaskBeacon.UnknownBeacon.selector, 99));
        votes.commit(TASK, 99, bytes32(uint256(1)));
        vm.prank(agents[0]);
        vm.expectRevert(abi.encodeWithSelector(IVoteCommitment.CommitmentMismatch.selector, TASK, agents[0]));
        votes.commit(TASK, fin, bytes32(0));

        _commit(agents[0], fin, "4");
        vm.prank(agents[0]);
        vm.expectRevert(abi.encodeWithSelector(IVoteCommitment.AlreadyCommitted.selector, TASK, agents[0]));
        votes.commit(TASK, fin, bytes32(uint256(2)));
        assertEq(votes.commitmentOf(TASK, agents[0]), _commitment(TASK, agents[0], "4", keccak256("cot"), bytes32(uint256(uint160(agents[0])))), "stored");
    }

    function test_commit_revertsTooManyVoters() public {
        // 33 final executors on one task (4 beacons of 8 plus one of 1), all delivered before anyone commits.
        address[] memory voters = new address[](33);
        uint256[] memory beaconOf = new uint256[](33);
        for (uint256 b; b < 5; ++b) {
            uint256 k = b < 4 ? 8 : 1;
            address[] memory group = new address[](k);
            for (uint256 i; i < k; ++i) {
                group[i] = _agent(400 + 8 * b + i);
                _register(group[i], Vectors.unit(0, 1));
                voters[8 * b + i] = group[i];
            }
            uint256 id = _deliveredFinal(group, uint16(b));
            for (uint256 i; i < k; ++i) {
                beaconOf[8 * b + i] = id;
            }
        }
        assertEq(beacon.finalExecutorCount(TASK), 33, "33 expected voters");
        for (uint256 i; i < 32; ++i) {
            _commit(voters[i], beaconOf[i], "4");
        }
        assertEq(uint256(_phase(TASK)), uint256(IVoteCommitment.Phase.Commit), "still waiting for the 33rd");
        vm.prank(voters[32]);
        vm.expectRevert(abi.encodeWithSelector(IVoteCommitment.TooManyVoters.selector, TASK));
        votes.commit(TASK, beaconOf[32], bytes32(uint256(1)));
        assertEq(votes.getVote(TASK).commits, 32, "capped at 32");
    }

    // ------------------------------------------------------------------ reveal / finalize errors

    function test_reveal_errors() public {
        uint256 id = _deliveredFinal(_group(0, 2), 0);
        vm.expectRevert(abi.encodeWithSelector(IVoteCommitment.WrongPhase.selector, TASK, IVoteCommitment.Phase.None));
        votes.finalize(TASK);
        vm.expectRevert(abi.encodeWithSelector(IVoteCommitment.WrongPhase.selector, TASK, IVoteCommitment.Phase.None));
        votes.startReveal(TASK);
        _commit(agents[0], id, "4");
        vm.expectRevert(abi.encodeWithSelector(IVoteCommitment.WrongPhase.selector, TASK, IVoteCommitment.Phase.Commit));
        votes.finalize(TASK);
        _commit(agents[1], id, "4");

        vm.prank(agents[2]);
        vm.expectRevert(abi.encodeWithSelector(IVoteCommitment.NoCommitment.selector, TASK, agents[2]));
        votes.reveal(TASK, "4", keccak256("cot"), bytes32(0));
        vm.prank(agents[0]);
        vm.expectRevert(abi.encodeWithSelector(IVoteCommitment.AnswerTooLong.selector, 129, 128));
        votes.reveal(TASK, string(new bytes(129)), keccak256("cot"), bytes32(0));
        vm.prank(agents[0]);
        vm.expectRevert(abi.encodeWithSelector(IVoteCommitment.CommitmentMismatch.selector, TASK, agents[0]));
        votes.reveal(TASK, "5", keccak256("cot"), bytes32(uint256(uint160(agents[0]))));
        _reveal(agents[0], "4");
        vm.prank(agents[0]);
        vm.expectRevert(abi.encodeWithSelector(IVoteCommitment.AlreadyRevealed.selector, TASK, agents[0]));
        votes.reveal(TASK, "4", keccak256("cot"), bytes32(uint256(uint160(agents[0]))));
    }

    function test_copiedCommitmentCannotBeRevealed() public {
        // A lazy voter copies agent 0's commitment: it binds agent 0's address, so the copier can never open it.
        uint256 id = _deliveredFinal(_group(0, 2), 0);
        _commit(agents[0], id, "4");
        bytes32 copied = votes.commitmentOf(TASK, agents[0]);
        vm.prank(agents[1]);
        votes.commit(TASK, id, copied);
        vm.prank(agents[1]);
        vm.expectRevert(abi.encodeWithSelector(IVoteCommitment.CommitmentMismatch.selector, TASK, agents[1]));
        votes.reveal(TASK, "4", keccak256("cot"), bytes32(uint256(uint160(agents[0]))));
    }

    // ------------------------------------------------------------------ fuzz

    function testFuzz_computeCommitment_matchesSpec(bytes32 taskId, address voter, string calldata answer, bytes32 cot, bytes32 salt)
        public
        view
    {
        assertEq(votes.computeCommitment(taskId, voter, answer, cot, salt), keccak256(abi.encode(taskId, voter, answer, cot, salt)), "spec encoding");
    }

    function testFuzz_revealOpensOnlyTheExactCommitment(bytes32 salt, bytes32 otherSalt, uint8 which) public {
        vm.assume(salt != otherSalt);
        uint256 id = _deliveredFinal(_group(0, 2), 0);
        bytes32 c = votes.computeCommitment(TASK, agents[0], "4", keccak256("cot"), salt);
        vm.prank(agents[0]);
        votes.commit(TASK, id, c);
        _commit(agents[1], id, "4");
        // change exactly one field
        uint256 f = bound(which, 0, 2);
        vm.prank(agents[0]);
        vm.expectRevert(abi.encodeWithSelector(IVoteCommitment.CommitmentMismatch.selector, TASK, agents[0]));
        if (f == 0) votes.reveal(TASK, "5", keccak256("cot"), salt);
        else if (f == 1) votes.reveal(TASK, "4", keccak256("other"), salt);
        else votes.reveal(TASK, "4", keccak256("cot"), otherSalt);
        vm.prank(agents[0]);
        votes.reveal(TASK, "4", keccak256("cot"), salt);
        assertEq(votes.getVote(TASK).reveals, 1, "exact reveal accepted");
    }
}
