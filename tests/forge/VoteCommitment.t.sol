// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {SymphonyFixture} from "./utils/SymphonyFixture.sol";
import {Vectors} from "./utils/Vectors.sol";
import {Vm} from "./utils/Test.sol";
import {ITaskBeacon} from "../../contracts/interfaces/ITaskBeacon.sol";
import {IVoteCommitment} from "../../contracts/interfaces/IVoteCommitment.sol";

contract VoteCommitmentTest is SymphonyFixture {
    address[] internal agents;
    bytes32 internal constant REQ = bytes32(uint256(0x64) << 248);
    bytes32 internal constant KIND0 = keccak256(abi.encodePacked("symphony.cluster", uint8(0)));

    function setUp() public override {
        super.setUp();
        agents = _registerMany(6);
    }

    function _first(uint256 n) internal view returns (address[] memory out) {
        out = new address[](n);
        for (uint256 i; i < n; ++i) {
            out[i] = agents[i];
        }
    }

    /// @dev Task of `chains` one-step final chains, each won by a different agent (agents 0..chains bid on all, so
    ///      one spare bidder is left for a reassignment).
    function _chains(uint256 chains, uint96 reward) internal returns (bytes32 taskId, uint256[] memory ids) {
        taskId = _postTask(chains, 1, 1, reward);
        ids = new uint256[](chains);
        for (uint256 c; c < chains; ++c) {
            ids[c] = _beaconOf(taskId, c, 0);
            for (uint256 i; i <= chains; ++i) {
                _bid(agents[i], ids[c]);
            }
        }
        vm.warp(block.timestamp + BID_WINDOW + 1);
        for (uint256 c; c < chains; ++c) {
            beacon.close(ids[c]);
        }
    }

    function _executor(uint256 id) internal view returns (address) {
        return beacon.executorsOf(id)[0];
    }

    // ------------------------------------------------------------------ lifecycle

    function test_lifecycle_threeAgents_weightedVoteSettlesTheTask() public {
        (bytes32 taskId, uint256 id) = _assignedFinal(_first(3), 1e12);
        _commit(agents[0], taskId, id, "4");
        _commit(agents[1], taskId, id, "4");
        assertEq(uint256(votes.getVote(taskId).phase), uint256(IVoteCommitment.Phase.Commit), "waiting for voter 3");
        _commit(agents[2], taskId, id, "5");
        assertEq(uint256(votes.getVote(taskId).phase), uint256(IVoteCommitment.Phase.Reveal), "every live slot committed");
        _reveal(agents[0], taskId, "4");
        _reveal(agents[1], taskId, "4");
        uint256 stakeLoser = ledger.stakeOf(agents[2]);
        _reveal(agents[2], taskId, "5"); // completes the vote: finalizes and settles
        IVoteCommitment.VoteInfo memory v = votes.getVote(taskId);
        assertEq(uint256(v.phase), uint256(IVoteCommitment.Phase.Finalized), "finalized by the last reveal");
        assertEq(v.winningAnswer, "4", "majority");
        uint256 w = beacon.chainWeight(id >> 3);
        assertEq(v.winningWeight, 2 * w, "two votes of the chain's weight");
        assertEq(v.totalWeight, 3 * w, "total");
        (uint32 s0,) = ledger.evidenceOf(agents[0], KIND0);
        (uint32 s2, uint32 f2) = ledger.evidenceOf(agents[2], KIND0);
        assertEq(uint256(s0), 1, "winner: success");
        assertEq(uint256(s2) * 10 + uint256(f2), 1, "loser: failure");
        assertEq(stakeLoser - ledger.stakeOf(agents[2]), 1e12 + ledger.slashUnit() / 5, "loser: share + unit/5");
        assertTrue(beacon.getTask(taskId).settled, "settled");
        IVoteCommitment.Voter[] memory voters = votes.votersOf(taskId);
        assertEq(voters.length, 3, "three voters");
        assertEq(voters[2].answer, "5", "recorded answer");
    }

    // ------------------------------------------------------------------ attack 6: honest votes

    /// @notice Attack 6 (v1: final answers were public in ResultSubmitted before anyone committed): a final
    ///         delivery publishes only its commitment; no answer or result bytes appear before the voter reveals.
    function test_noFinalAnswerIsPublicBeforeItsVoterReveals() public {
        (bytes32 taskId, uint256 id) = _assignedFinal(_first(2), 0);
        vm.recordLogs();
        _commit(agents[0], taskId, id, "42");
        Vm.Log[] memory logs = vm.getRecordedLogs();
        bytes memory secret = _result("42");
        for (uint256 i; i < logs.length; ++i) {
            assertFalse(_contains(logs[i].data, secret), "no result bytes in any log");
            assertFalse(_contains(logs[i].data, bytes("42")), "nor the answer");
        }
    }

    function _contains(bytes memory hay, bytes memory needle) internal pure returns (bool) {
        if (needle.length == 0 || hay.length < needle.length) return false;
        for (uint256 i; i + needle.length <= hay.length; ++i) {
            bool ok = true;
            for (uint256 j; j < needle.length && ok; ++j) {
                ok = hay[i + j] == needle[j];
            }
            if (ok) return true;
        }
        return false;
    }

    /// @notice Attack 6 (v1: a voter that delivered junk could reveal the honest answer): the reveal must open the
    ///         commitment delivered with the result, so neither another answer nor another result opens it.
    function testFuzz_revealOpensOnlyTheDeliveredAnswerAndResult(string memory copied, bytes memory otherResult) public {
        vm.assume(keccak256(bytes(copied)) != keccak256("junk") && bytes(copied).length <= 128);
        vm.assume(keccak256(otherResult) != keccak256(_result("junk")) && otherResult.length <= 8192);
        (bytes32 taskId, uint256 id) = _assignedFinal(_first(2), 0);
        _commit(agents[0], taskId, id, "junk");
        _commit(agents[1], taskId, id, "honest");
        vm.startPrank(agents[0]);
        vm.expectRevert(abi.encodeWithSelector(IVoteCommitment.CommitmentMismatch.selector, taskId, agents[0]));
        votes.reveal(taskId, copied, _result("junk"), _salt(agents[0]));
        vm.expectRevert(abi.encodeWithSelector(IVoteCommitment.CommitmentMismatch.selector, taskId, agents[0]));
        votes.reveal(taskId, "junk", otherResult, _salt(agents[0]));
        votes.reveal(taskId, "junk", _result("junk"), _salt(agents[0]));
        vm.expectRevert(abi.encodeWithSelector(IVoteCommitment.AlreadyRevealed.selector, taskId, agents[0]));
        votes.reveal(taskId, "junk", _result("junk"), _salt(agents[0]));
        vm.stopPrank();
        vm.prank(agents[2]); // a stranger cannot open anybody's commitment
        vm.expectRevert(abi.encodeWithSelector(IVoteCommitment.CommitmentMismatch.selector, taskId, agents[2]));
        votes.reveal(taskId, "honest", _result("honest"), _salt(agents[1]));
    }

    /// @notice Attack 6 (v1: the requester could end the commit phase after the first commit and exclude voters who
    ///         delivered): nobody, the requester included, can start the reveal phase while a live final slot has
    ///         not committed and the window is open.
    function test_commitPhaseEndsEarlyOnlyWithEveryLiveVoter() public {
        (bytes32 taskId, uint256[] memory ids) = _chains(3, 0);
        _commit(_executor(ids[0]), taskId, ids[0], "7");
        vm.expectRevert(abi.encodeWithSelector(IVoteCommitment.CommitWindowOpen.selector, taskId));
        votes.startReveal(taskId); // the requester
        vm.prank(_executor(ids[0]));
        vm.expectRevert(abi.encodeWithSelector(IVoteCommitment.CommitWindowOpen.selector, taskId));
        votes.startReveal(taskId);
        _commit(_executor(ids[1]), taskId, ids[1], "7");
        // chain 2's executor never delivers; once it is reclaimed with nobody left, the live slots are two.
        vm.warp(block.timestamp + EXEC_WINDOW + 1);
        address silent = _executor(ids[2]);
        beacon.reclaimExpired(ids[2]);
        if (beacon.getBeacon(ids[2]).status == ITaskBeacon.Status.Assigned) {
            vm.warp(block.timestamp + EXEC_WINDOW + 1);
            beacon.reclaimExpired(ids[2]);
        }
        silent;
        assertEq(beacon.expectedVoters(taskId), 2, "two live final slots");
        votes.startReveal(taskId); // now everybody who can vote has voted
        assertEq(uint256(votes.getVote(taskId).phase), uint256(IVoteCommitment.Phase.Reveal), "reveal phase");
    }

    function test_commitWindowOver_anyoneStartsReveal_lateDeliveryDoesNotVote() public {
        (bytes32 taskId, uint256[] memory ids) = _chains(3, 1e12);
        uint256 t = block.timestamp;
        _commit(_executor(ids[0]), taskId, ids[0], "7");
        vm.warp(t + EXEC_WINDOW + 1);
        beacon.reclaimExpired(ids[1]); // chain 1 reassigned: deadline t + 2·EXEC_WINDOW + 1
        vm.warp(t + COMMIT_WINDOW + 1);
        vm.prank(agents[5]);
        votes.startReveal(taskId);
        address late = _executor(ids[1]);
        uint256 paidBefore = late.balance;
        uint256 creditBefore = beacon.credits(address(this));
        vm.expectEmit(true, true, true, true, address(votes));
        emit IVoteCommitment.LateCommitment(taskId, late, ids[1]);
        _commit(late, taskId, ids[1], "8"); // within its exec window but after the reveal phase began
        assertEq(uint256(votes.getVote(taskId).commits), 1, "not counted");
        // Attacker's view: an uncounted delivery is never judged, so it must not be paid either (else junk
        // delivered after the commit window would keep its share risk-free); the requester gets the share back.
        assertEq(late.balance, paidBefore, "late delivery unpaid");
        assertEq(beacon.credits(address(this)), creditBefore + 1e12, "share refunded to the requester");
        _reveal(_executor(ids[0]), taskId, "7");
        assertEq(votes.getVote(taskId).winningAnswer, "7", "single voter");
    }

    /// @notice Attack 6 (v1: equal weights went to the answer revealed first): the winner of a tie is the same in
    ///         either reveal order.
    function testFuzz_tieWinnerIndependentOfRevealOrder(bool reversed, bytes8 a, bytes8 b) public {
        vm.assume(a != b);
        string memory x = string(abi.encodePacked(a));
        string memory y = string(abi.encodePacked(b));
        bytes32 cap = Vectors.set(REQ, 9, 9);
        address p = _agent(40);
        address q = _agent(41);
        _register(p, cap);
        _register(q, cap); // equal vectors, equal records: equal chain weights
        bytes32 taskId = _postTask(2, 1, 1, 0);
        uint256 i0 = _beaconOf(taskId, 0, 0);
        uint256 i1 = _beaconOf(taskId, 1, 0);
        _bid(p, i0);
        _bid(q, i1);
        vm.warp(block.timestamp + BID_WINDOW + 1);
        beacon.close(i0);
        beacon.close(i1);
        _commit(p, taskId, i0, x);
        _commit(q, taskId, i1, y);
        assertEq(beacon.chainWeight(i0 >> 3), beacon.chainWeight(i1 >> 3), "equal weights");
        if (reversed) {
            _reveal(q, taskId, y);
            _reveal(p, taskId, x);
        } else {
            _reveal(p, taskId, x);
            _reveal(q, taskId, y);
        }
        uint256 kx = uint256(keccak256(abi.encodePacked(taskId, uint8(8), bytes19(bytes(x)))));
        uint256 ky = uint256(keccak256(abi.encodePacked(taskId, uint8(8), bytes19(bytes(y)))));
        assertEq(votes.getVote(taskId).winningAnswer, kx < ky ? x : y, "lower keccak(taskId, answer) wins");
    }

    /// @notice Attack 6 (v1: empty results were paid in full): an abstention (empty answer) is paid at delivery and
    ///         clawed back with a fine at settlement: it earns strictly less than nothing. Whatever the reward.
    function testFuzz_emptyAnswerEarnsLessThanNothing(uint96 rewardRaw) public {
        // any reward an agent on the minimum stake can be assigned: stake ≥ slashUnit + reward + fine
        uint96 reward = uint96(bound(rewardRaw, 0, MIN_STAKE - ledger.slashUnit() - ledger.slashUnit() / 5));
        vm.deal(address(this), 100 ether);
        (bytes32 taskId, uint256 id) = _assignedFinal(_first(3), reward);
        assertEq(beacon.executorsOf(id).length, 3, "all three assigned");
        address lazy = agents[2];
        uint256 wealth = lazy.balance + ledger.stakeOf(lazy);
        _commit(agents[0], taskId, id, "4");
        _commit(agents[1], taskId, id, "4");
        _commit(lazy, taskId, id, "");
        _reveal(agents[0], taskId, "4");
        _reveal(agents[1], taskId, "4");
        _reveal(lazy, taskId, "");
        assertEq(wealth - (lazy.balance + ledger.stakeOf(lazy)), ledger.slashUnit() / 5, "net: minus the fine");
        assertEq(votes.getVote(taskId).totalWeight, 2 * beacon.chainWeight(id >> 3), "no weight for the abstention");
    }

    /// @notice Vote copiers' view: a voter that committed junk (it could not see any answer) and reveals it loses
    ///         the vote and ends with its share clawed back and a fine.
    function test_junkVoterEndsBelowZero_silentVoterPaysMore() public {
        (bytes32 taskId, uint256 id) = _assignedFinal(_first(4), 1e12);
        uint256 wJunk = agents[2].balance + ledger.stakeOf(agents[2]);
        uint256 wSilent = agents[3].balance + ledger.stakeOf(agents[3]);
        for (uint256 i; i < 4; ++i) {
            _commit(agents[i], taskId, id, i == 2 ? "junk" : "4");
        }
        _reveal(agents[0], taskId, "4");
        _reveal(agents[1], taskId, "4");
        _reveal(agents[2], taskId, "junk");
        vm.warp(block.timestamp + REVEAL_WINDOW + 1);
        vm.expectRevert(abi.encodeWithSelector(IVoteCommitment.RevealWindowOver.selector, taskId));
        _reveal(agents[3], taskId, "4");
        votes.finalize(taskId);
        assertEq(wJunk - (agents[2].balance + ledger.stakeOf(agents[2])), ledger.slashUnit() / 5, "junk: -fine");
        assertEq(wSilent - (agents[3].balance + ledger.stakeOf(agents[3])), ledger.slashUnit(), "silent: -slashUnit");
        assertEq(uint256(ledger.reputationOf(agents[3])), 0.9e18, "silent: -0.1 reputation");
    }

    function test_finalize_errorsAndFinality() public {
        (bytes32 taskId, uint256 id) = _assignedFinal(_first(2), 0);
        vm.expectRevert(abi.encodeWithSelector(IVoteCommitment.WrongPhase.selector, taskId, IVoteCommitment.Phase.None));
        votes.finalize(taskId);
        _commit(agents[0], taskId, id, "1");
        _commit(agents[1], taskId, id, "2");
        _reveal(agents[0], taskId, "1");
        vm.expectRevert(abi.encodeWithSelector(IVoteCommitment.RevealNotOver.selector, taskId));
        votes.finalize(taskId);
        _reveal(agents[1], taskId, "2");
        IVoteCommitment.VoteInfo memory v = votes.getVote(taskId);
        vm.expectRevert(abi.encodeWithSelector(IVoteCommitment.WrongPhase.selector, taskId, IVoteCommitment.Phase.Finalized));
        votes.finalize(taskId);
        vm.warp(block.timestamp + 10 days);
        IVoteCommitment.VoteInfo memory w = votes.getVote(taskId);
        assertEq(w.winningAnswer, v.winningAnswer, "a finalized vote never changes");
        assertEq(w.totalWeight, v.totalWeight, "nor its weights");
        vm.expectRevert(abi.encodeWithSelector(IVoteCommitment.NotTaskBeacon.selector, address(this)));
        votes.recordCommitment(taskId, id, 0, address(this), bytes32(uint256(1)), 1);
        vm.expectRevert(abi.encodeWithSelector(ITaskBeacon.NotVoteContract.selector, address(this)));
        beacon.settle(taskId, new ITaskBeacon.VoterOutcome[](0), true);
    }

    function test_longAnswers_talliedAndReturnedExactly() public {
        (bytes32 taskId, uint256 id) = _assignedFinal(_first(3), 0);
        string memory long = "the answer is a rather long sentence of more than nineteen bytes";
        _commit(agents[0], taskId, id, long);
        _commit(agents[1], taskId, id, long);
        _commit(agents[2], taskId, id, "nineteen-bytes-exac");
        vm.prank(agents[0]);
        vm.expectRevert(abi.encodeWithSelector(IVoteCommitment.AnswerTooLong.selector, 129, 128));
        votes.reveal(taskId, string(new bytes(129)), "", bytes32(0));
        _reveal(agents[0], taskId, long);
        _reveal(agents[1], taskId, long);
        _reveal(agents[2], taskId, "nineteen-bytes-exac");
        assertEq(votes.getVote(taskId).winningAnswer, long, "long answer returned whole");
        assertEq(votes.votersOf(taskId)[2].answer, "nineteen-bytes-exac", "19-byte answer inline");
    }

    /// @notice Settlement is never skipped by running out of gas: at any gas limit, the reveal that completes a
    ///         vote either reverts or finalizes with the task settled (a caught out-of-gas would finalize unsettled).
    function test_completingRevealSettlesAtAnyGasLimitOrReverts() public {
        (bytes32 taskId, uint256 id) = _assignedFinal(_first(3), 1e12);
        for (uint256 i; i < 3; ++i) _commit(agents[i], taskId, id, i == 2 ? "5" : "4");
        _reveal(agents[0], taskId, "4");
        _reveal(agents[1], taskId, "4");
        bytes memory call = abi.encodeCall(votes.reveal, (taskId, "5", _result("5"), _salt(agents[2])));
        bool done;
        uint256 reverted;
        for (uint256 g = 40_000; g < 2_000_000 && !done; g += 3_000) {
            vm.prank(agents[2]);
            (done,) = address(votes).call{gas: g}(call);
            if (!done) ++reverted;
        }
        assertTrue(done, "eventually succeeds");
        assertGt(reverted, 10, "low limits revert");
        assertTrue(beacon.getTask(taskId).settled, "the first successful reveal settled the task");
    }

    // ------------------------------------------------------------------ attack 5: farming

    /// @notice Attack 5 (v1: an agent farmed reputation to the cap with zero-reward one-voter tasks): a vote gives
    ///         successes only when two voters agree on the winner, on a chain paying at least minEvidenceReward.
    function test_unpaidOrSingleVoterTasksEarnNoEvidence() public {
        (bytes32 t1, uint256 i1) = _assignedFinal(_first(3), 0); // unpaid
        for (uint256 i; i < 3; ++i) _commit(agents[i], t1, i1, "4");
        for (uint256 i; i < 3; ++i) _reveal(agents[i], t1, "4");
        (bytes32 t2, uint256 i2) = _assignedFinal(_first(1), 1e12); // one voter
        _commit(agents[0], t2, i2, "4");
        _reveal(agents[0], t2, "4");
        for (uint256 i; i < 3; ++i) {
            (uint32 s,) = ledger.evidenceOf(agents[i], KIND0);
            assertEq(uint256(s), 0, "no success farmed");
        }
        (bytes32 t3, uint256 i3) = _assignedFinal(_first(2), 1e12); // paid, two voters: counts
        for (uint256 i; i < 2; ++i) _commit(agents[i], t3, i3, "4");
        for (uint256 i; i < 2; ++i) _reveal(agents[i], t3, "4");
        (uint32 s0,) = ledger.evidenceOf(agents[0], KIND0);
        assertEq(uint256(s0), 1, "a paid, agreed vote counts");
    }

    /// @notice The farmer's view: every success it can farm through its own tasks costs it the burned posting fee,
    ///         at least 10 % of minEvidenceReward, which nobody (itself included) ever gets back.
    function testFuzz_eachFarmedSuccessBurnsTheFee(uint96 rewardRaw) public {
        uint96 reward = uint96(bound(rewardRaw, MIN_EVIDENCE_REWARD, 0.5 ether));
        vm.deal(address(this), 100 ether);
        uint256 fees = beacon.burnedFees();
        (bytes32 t, uint256 id) = _assignedFinal(_first(2), reward);
        for (uint256 i; i < 2; ++i) _commit(agents[i], t, id, "4");
        for (uint256 i; i < 2; ++i) _reveal(agents[i], t, "4");
        (uint32 s0,) = ledger.evidenceOf(agents[0], KIND0);
        (uint32 s1,) = ledger.evidenceOf(agents[1], KIND0);
        uint256 burned = beacon.burnedFees() - fees;
        assertGe(burned, (uint256(s0) + s1) * MIN_EVIDENCE_REWARD / 10, "fee per success");
        assertEq(burned, (2 * uint256(reward)) / 10, "10 % of the escrow");
    }

    /// @notice Attack 5's second half (three sybils taking all final beacons of a task): one agent holds at most
    ///         one final slot per task, so every extra vote needs another staked identity with its own record.
    function test_oneAgentHoldsOneFinalSlotPerTask() public {
        (bytes32 taskId, uint256[] memory ids) = _chains(3, 0);
        address a = _executor(ids[0]);
        address b = _executor(ids[1]);
        address c = _executor(ids[2]);
        assertTrue(a != b && b != c && a != c, "three different voters");
        assertEq(a, agents[0], "the best bidder takes the first chain");
        taskId;
    }

    /// @notice Property: in a task of several chains no agent works in two chains (its steps stay in one chain), for
    ///         any number of chains, steps and executors and any bid order.
    function testFuzz_noAgentWorksInTwoChainsOfATask(uint8 chains_, uint8 steps_, uint8 k_, uint256 order) public {
        uint256 chains = 2 + (chains_ % 3);
        uint256 steps = 1 + (steps_ % 3);
        uint8 k = uint8(1 + (k_ % 2));
        bytes32 taskId = _postTask(chains, steps, k, 1e12);
        for (uint256 c; c < chains; ++c) {
            for (uint256 s; s < steps; ++s) {
                for (uint256 i; i < agents.length; ++i) {
                    _bid(agents[(i + order % 6 + c) % agents.length], _beaconOf(taskId, c, s));
                }
            }
        }
        vm.warp(block.timestamp + BID_WINDOW + 1);
        address[][] memory seen = new address[][](chains);
        for (uint256 c; c < chains; ++c) {
            beacon.close(_beaconOf(taskId, c, 0));
            seen[c] = new address[](steps * k);
        }
        for (uint256 s; s < steps; ++s) {
            for (uint256 c; c < chains; ++c) {
                uint256 id = _beaconOf(taskId, c, s);
                address[] memory ex = beacon.executorsOf(id);
                for (uint256 e; e < ex.length; ++e) {
                    seen[c][s * k + e] = ex[e];
                    if (s + 1 < steps) _submit(ex[e], id, "reasoning");
                    else _commit(ex[e], taskId, id, "4");
                }
            }
        }
        for (uint256 c; c < chains; ++c) {
            for (uint256 d = c + 1; d < chains; ++d) {
                for (uint256 i; i < seen[c].length; ++i) {
                    if (seen[c][i] == address(0)) continue;
                    for (uint256 j; j < seen[d].length; ++j) {
                        assertTrue(seen[c][i] != seen[d][j], "an agent in two chains of one task");
                    }
                }
            }
        }
    }

    /// @notice Attacker's view: an agent with the best possible match bids on every step of every chain. It gets one
    ///         chain (both its steps), the other chains go to other agents, so its junk is one voice against two
    ///         honest chains: it loses the vote, records two failures and ends poorer than it started.
    function test_bestMatchLiarSpoilsOneChainOnlyAndLoses() public {
        address liar = _agent(77);
        _register(liar, REQ); // e0·100: the requirement exactly
        uint256 before = liar.balance + ledger.stakeOf(liar);
        bytes32 taskId = _postTask(3, 2, 1, 1e12);
        for (uint256 c; c < 3; ++c) {
            for (uint256 s; s < 2; ++s) {
                _bid(liar, _beaconOf(taskId, c, s));
                for (uint256 i = 1; i < 4; ++i) _bid(agents[i], _beaconOf(taskId, c, s));
            }
        }
        vm.warp(block.timestamp + BID_WINDOW + 1);
        uint256 liarChains;
        for (uint256 c; c < 3; ++c) {
            uint256 first = _beaconOf(taskId, c, 0);
            beacon.close(first);
            address ex = _executor(first);
            _submit(ex, first, ex == liar ? bytes("x") : bytes("reasoning"));
            address fin = _executor(first + 1);
            assertEq(fin == liar, ex == liar, "the liar's steps stay in its one chain");
            if (ex == liar) ++liarChains;
            _commit(fin, taskId, first + 1, fin == liar ? "junk" : "4");
        }
        assertEq(liarChains, 1, "one chain of three");
        for (uint256 c; c < 3; ++c) {
            address fin = _executor(_beaconOf(taskId, c, 1));
            _reveal(fin, taskId, fin == liar ? "junk" : "4");
        }
        assertEq(votes.getVote(taskId).winningAnswer, "4", "two honest chains out-vote it");
        (, uint32 failures) = ledger.evidenceOf(liar, KIND0);
        assertEq(uint256(failures), 2, "a failure for each step it held");
        assertLt(liar.balance + ledger.stakeOf(liar), before, "lying cost it more than it was paid");
    }

    /// @notice Two chains that disagree: one voice against one, neither is shown wrong. Both final voters give
    ///         their share back (junk earns nothing) and record nothing; their chains' earlier executors keep their
    ///         pay and record nothing, whichever answer the tie rule makes the task's.
    function test_twoDisagreeingChains_neitherIsShownWrong() public {
        bytes32 taskId = _postTask(2, 2, 1, 1e12);
        uint256 a0 = _beaconOf(taskId, 0, 0);
        uint256 b0 = _beaconOf(taskId, 1, 0);
        _bid(agents[0], a0);
        _bid(agents[1], a0 + 1);
        _bid(agents[2], b0);
        _bid(agents[3], b0 + 1);
        vm.warp(block.timestamp + BID_WINDOW + 1);
        beacon.close(a0);
        beacon.close(b0);
        _submit(agents[0], a0, "good reasoning");
        _submit(agents[2], b0, "junk");
        uint256 wJunk = agents[2].balance + ledger.stakeOf(agents[2]);
        uint256 wFinal = agents[3].balance + ledger.stakeOf(agents[3]);
        _commit(agents[1], taskId, a0 + 1, "4");
        _commit(agents[3], taskId, b0 + 1, "5");
        // equal 1-1 split: the tie rule decides; the other chain lost
        _reveal(agents[1], taskId, "4");
        _reveal(agents[3], taskId, "5");
        for (uint256 i; i < 4; ++i) {
            (uint32 s, uint32 f) = ledger.evidenceOf(agents[i], KIND0);
            assertEq(uint256(s) + f, 0, "no evidence either way");
        }
        assertEq(agents[2].balance + ledger.stakeOf(agents[2]), wJunk, "the step executor keeps what it had");
        assertEq(agents[3].balance + ledger.stakeOf(agents[3]), wFinal, "the final voter: its share back, no fine");
    }

    // ------------------------------------------------------------------ evidence follows agreement

    /// @dev A fresh agent whose vector leans from the requirement e0 by `tilt` along e1: match 100/|(100, tilt)|.
    function _tilted(uint256 i, uint8 tilt) internal returns (address who) {
        who = _agent(200 + i);
        _register(who, Vectors.set(Vectors.unit(0, 100), 1, int8(uint8(tilt > 127 ? 127 : tilt))));
    }

    /// @dev The stored bid score (WAD) of `who` on `beaconId`.
    function _scoreOn(uint256 beaconId, address who) internal view returns (uint256) {
        ITaskBeacon.Bid[] memory bids = beacon.getBids(beaconId);
        for (uint256 i; i < bids.length; ++i) {
            if (bids[i].agent == who) return bids[i].score;
        }
        revert("no bid");
    }

    /// @notice A chain weighs what its least trusted executor weighs: an executor cannot borrow the weight of a
    ///         better agent's step in its chain (the vote copiers' way of out-weighing two agreeing chains).
    function testFuzz_chainWeightIsItsWeakestLink(uint8 tiltA, uint8 tiltB, bool copierLast) public {
        address a = _tilted(0, tiltA);
        address b = _tilted(1, tiltB);
        bytes32 taskId = _postTask(1, 2, 1, 1e12);
        uint256 first = _beaconOf(taskId, 0, 0);
        (address x, address y) = copierLast ? (a, b) : (b, a);
        _bid(x, first);
        _bid(y, first + 1);
        _closeAfterWindow(first);
        _submit(x, first, "reasoning");
        _commit(y, taskId, first + 1, "4");
        uint256 sx = _scoreOn(first, x);
        uint256 sy = _scoreOn(first + 1, y);
        assertEq(beacon.chainWeight(first >> 3), sx < sy ? sx : sy, "the lowest delivering executor's score");
    }

    /// @notice The vote copier's case, end to end: a heavy answer alone wins the weighted vote, two light chains
    ///         agree on another. The heavy voter and its chain get a failure (an answer no other voter reached);
    ///         the two agreeing chains were out-weighed, not shown wrong: they keep their pay and record nothing.
    function test_outweighedAgreementIsSpared_loneHeavyAnswerFails() public {
        address heavy = _tilted(0, 0); // match 1.0
        address light1 = _agent(301); // e0·30 + e1·127: match ~0.23
        address light2 = _agent(302);
        _register(light1, Vectors.set(Vectors.unit(0, 30), 1, 127));
        _register(light2, Vectors.set(Vectors.unit(0, 30), 1, 127));
        address[3] memory finals = [heavy, light1, light2];
        bytes32 taskId = _postTask(3, 2, 1, 1e12);
        for (uint256 c; c < 3; ++c) {
            _bid(agents[c], _beaconOf(taskId, c, 0)); // step 0: well-matched specialists (heavier than the finals)
            _bid(finals[c], _beaconOf(taskId, c, 1));
        }
        vm.warp(block.timestamp + BID_WINDOW + 1);
        uint256[3] memory wealth;
        for (uint256 c; c < 3; ++c) {
            uint256 id = _beaconOf(taskId, c, 0);
            beacon.close(id);
            _submit(agents[c], id, "reasoning");
            wealth[c] = finals[c].balance + ledger.stakeOf(finals[c]);
            _commit(finals[c], taskId, id + 1, c == 0 ? "junk" : "4");
        }
        uint256 wHeavy = beacon.chainWeight(_beaconOf(taskId, 0, 0) >> 3);
        uint256 wLight = beacon.chainWeight(_beaconOf(taskId, 1, 0) >> 3);
        assertGt(wHeavy, 2 * wLight, "one chain out-weighs the two agreeing ones");
        for (uint256 c; c < 3; ++c) _reveal(finals[c], taskId, c == 0 ? "junk" : "4");
        assertEq(votes.getVote(taskId).winningAnswer, "junk", "the weighted vote decides the answer");
        (uint32 sH, uint32 fH) = ledger.evidenceOf(heavy, KIND0);
        assertEq(uint256(sH) * 10 + fH, 1, "the lone winner: a failure, no success");
        assertEq(wealth[0] - (heavy.balance + ledger.stakeOf(heavy)), ledger.slashUnit() / 5, "and the fine");
        (, uint32 fS0) = ledger.evidenceOf(agents[0], KIND0);
        assertEq(uint256(fS0), 1, "its chain's step executor: a failure");
        for (uint256 c = 1; c < 3; ++c) {
            (uint32 s, uint32 f) = ledger.evidenceOf(finals[c], KIND0);
            assertEq(uint256(s) + f, 0, "out-weighed voter: no evidence either way");
            assertEq(finals[c].balance + ledger.stakeOf(finals[c]), wealth[c] + 1e12, "keeps its pay");
            (uint32 s0, uint32 f0) = ledger.evidenceOf(agents[c], KIND0);
            assertEq(uint256(s0) + f0, 0, "its chain's step executor: spared too");
        }
    }

    /// @notice For any answers and weights: a voter gets a success iff it revealed the winning answer and another
    ///         voter revealed it too; a failure iff it abstained, or revealed an answer nobody else reached while
    ///         at least two other voters answered; nothing otherwise (one of two differing answers gives its share
    ///         back). Whoever decides the weighted vote earns no record by deciding it, and no agreed minority pays.
    function testFuzz_evidenceFollowsAgreementNotWeight(uint256 seed) public {
        uint256 n = 2 + (seed % 4); // 2..5 voters, one per one-step chain
        string[4] memory pool = ["a", "b", "c", ""];
        address[] memory voter = new address[](n);
        string[] memory answer = new string[](n);
        bytes32 taskId = _postTask(n, 1, 1, 1e12);
        for (uint256 i; i < n; ++i) {
            voter[i] = _tilted(i, uint8(uint256(keccak256(abi.encode(seed, i))) % 128));
            answer[i] = pool[uint256(keccak256(abi.encode(seed, i, "answer"))) % 4];
            _bid(voter[i], _beaconOf(taskId, i, 0));
        }
        vm.warp(block.timestamp + BID_WINDOW + 1);
        uint256[] memory wealth = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            uint256 id = _beaconOf(taskId, i, 0);
            beacon.close(id);
            wealth[i] = voter[i].balance + ledger.stakeOf(voter[i]);
            _commit(voter[i], taskId, id, answer[i]);
        }
        uint256 nonEmpty;
        for (uint256 i; i < n; ++i) {
            _reveal(voter[i], taskId, answer[i]);
            if (bytes(answer[i]).length != 0) ++nonEmpty;
        }
        bytes32 winner = keccak256(bytes(votes.getVote(taskId).winningAnswer));
        for (uint256 i; i < n; ++i) {
            uint256 support;
            for (uint256 j; j < n; ++j) {
                if (keccak256(bytes(answer[j])) == keccak256(bytes(answer[i]))) ++support;
            }
            _checkSettled(voter[i], answer[i], support, nonEmpty, winner, wealth[i]);
        }
    }

    function _checkSettled(address who, string memory answer, uint256 support, uint256 nonEmpty, bytes32 winner, uint256 wealth)
        internal
        view
    {
        bool empty = bytes(answer).length == 0;
        bool success = !empty && support >= 2 && keccak256(bytes(answer)) == winner;
        bool failure = empty || (support == 1 && nonEmpty >= 3);
        (uint32 s, uint32 f) = ledger.evidenceOf(who, KIND0);
        assertEq(s, success ? 1 : 0, "success iff an agreed winner");
        assertEq(f, failure ? 1 : 0, "failure iff abstained or alone against two or more voters");
        uint256 after_ = who.balance + ledger.stakeOf(who);
        if (failure) assertEq(wealth - after_, ledger.slashUnit() / 5, "a failure nets minus the fine");
        else if (!empty && support == 1 && nonEmpty == 2) assertEq(after_, wealth, "one of two differing answers: its share back");
        else assertEq(after_, wealth + 1e12, "otherwise the pay is kept");
    }

    /// @notice Chain continuity: a later step goes first to whoever delivered the chain's previous step, if it bid.
    ///         A vote copier with a perfect claim bidding on every final step takes none of the chains honest
    ///         agents carry (their step-0 executors bid on their final steps), so it cannot attach its junk to an
    ///         honest chain and make that chain's earlier executors share its failure. Continuity is a preference,
    ///         not a lock: a final step its chain's executor did not bid on goes to the best other bidder.
    function test_copierCannotTakeTheFinalStepOfAChainItDidNotCarry() public {
        address copier = _agent(77);
        _register(copier, REQ); // match 1.0: outranks every honest agent on every step
        bytes32 taskId = _postTask(3, 2, 1, 1e12);
        for (uint256 c; c < 3; ++c) {
            uint256 first = _beaconOf(taskId, c, 0);
            _bid(agents[c], first);
            if (c != 2) _bid(agents[c], first + 1); // chain 2's step-0 executor does not bid on its final step
            _bid(copier, first + 1);
        }
        vm.warp(block.timestamp + BID_WINDOW + 1);
        for (uint256 c; c < 3; ++c) {
            uint256 first = _beaconOf(taskId, c, 0);
            beacon.close(first);
            _submit(agents[c], first, "reasoning");
            assertEq(_executor(first + 1), c == 2 ? copier : agents[c], "continuity first, then rank");
        }
    }

    // ------------------------------------------------------------------ attack 1 end to end

    /// @notice Attack 1 end to end: an agent claiming the exact requirement (match 1.0) beats three specialists
    ///         (match ~0.99) while nobody has a record, and on exploration steps while it is a newcomer; after
    ///         NEWCOMER_OUTCOMES lost votes it wins no chain any more, and every win cost it stake.
    function test_liarStopsWinningAfterAFewTasks() public {
        address liar = _agent(77);
        _register(liar, REQ);
        uint256 liarWins;
        uint256 winsAfterThirdFailure;
        for (uint256 task; task < 12; ++task) {
            (, uint32 failures) = ledger.evidenceOf(liar, KIND0);
            uint256 wins = _liarRound(liar);
            liarWins += wins;
            if (failures >= ledger.NEWCOMER_OUTCOMES()) winsAfterThirdFailure += wins;
        }
        assertEq(winsAfterThirdFailure, 0, "no win once it is no longer a newcomer");
        assertLe(liarWins, ledger.NEWCOMER_OUTCOMES(), "a few wins at most");
        assertLt(ledger.stakeOf(liar), MIN_STAKE - liarWins * (ledger.slashUnit() / 5), "every win cost it the fine");
    }

    function _liarRound(address liar) internal returns (uint256 wins) {
        bytes32 taskId = _postTask(3, 1, 1, 1e12);
        uint256[] memory ids = new uint256[](3);
        for (uint256 c; c < 3; ++c) {
            ids[c] = _beaconOf(taskId, c, 0);
            _bid(liar, ids[c]);
            for (uint256 i; i < 3; ++i) _bid(agents[i], ids[c]);
        }
        vm.warp(block.timestamp + BID_WINDOW + 1);
        for (uint256 c; c < 3; ++c) {
            beacon.close(ids[c]);
            address ex = _executor(ids[c]);
            if (ex == liar) ++wins;
            _commit(ex, taskId, ids[c], ex == liar ? "junk" : "4");
        }
        for (uint256 c; c < 3; ++c) {
            address ex = _executor(ids[c]);
            _reveal(ex, taskId, ex == liar ? "junk" : "4");
        }
        assertEq(votes.getVote(taskId).winningAnswer, "4", "the honest answer wins");
        vm.warp(block.timestamp + 1);
    }
}
