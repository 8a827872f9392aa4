// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IVoteCommitment} from "./interfaces/IVoteCommitment.sol";
import {ITaskBeacon} from "./interfaces/ITaskBeacon.sol";

/// @title VoteCommitment
/// @notice Commit-reveal weighted vote over the final answers of a task's chains (docs/protocol.md).
/// @dev Why the commitment comes from TaskBeacon: a final step's delivery *is* its vote commitment
///      keccak256(abi.encode(taskId, voter, answer, keccak256(result), salt)), so no final answer or result is
///      public before its voter is bound to one, and the revealed answer travels with the very result that was
///      delivered. The commit phase ends only when every live final slot committed (TaskBeacon.expectedVoters) or
///      the commit window is over — nobody can cut voters out.
///      Gas layout: one header slot per vote; one slot per voter (the commitment's first 192 bits, its final
///      beacon, bid position and reveal state: a second preimage of 192 bits is out of reach and a 2^96
///      collision search would only let a voter fool itself); one tally slot per distinct answer (answers of
///      ≤ 19 bytes inline, longer ones keyed by a 152-bit hash with the text beside). The leader is kept
///      incrementally: weight desc, then the lower keccak256(taskId, answer key) — no reveal order can decide.
///      Evidence follows agreement, not weight (docs/protocol.md "Settlement"): whoever decides a weighted vote
///      must not thereby earn the record that makes its next vote heavier, and a minority that other voters
///      agreed with was out-weighed, not shown wrong.
contract VoteCommitment is IVoteCommitment {
    /// @notice Most voters per task (TaskBeacon.MAX_VOTERS).
    uint256 public constant MAX_VOTERS = 16;
    /// @notice Longest revealed answer, in bytes.
    uint256 public constant MAX_ANSWER_BYTES = 128;
    /// @notice Longest revealed result, in bytes.
    uint256 public constant MAX_RESULT_BYTES = 8192;
    /// @notice Voters that must reveal the same answer before it counts as evidence: a winning answer with
    ///         fewer voters earns no success, and an answer no other voter reached, in a vote where at least two
    ///         others answered, is a failure whichever answer is heaviest.
    uint256 public constant MIN_AGREEMENT = 2;

    uint8 internal constant COMMITTED = 0;
    uint8 internal constant REVEALED = 1;
    uint8 internal constant ABSTAINED = 2;
    uint8 internal constant LONG_ANSWER = 255;
    uint256 internal constant INLINE_BYTES = 19;

    struct Vote {
        Phase phase;
        uint40 commitDeadline;
        uint40 revealDeadline;
        uint8 commits;
        uint8 reveals;
        uint8 nonEmpty; // non-empty reveals
        uint8 answers; // distinct answers revealed so far
        uint8 leader; // first-reveal order (1-based) of the leading answer, 0 = none
        uint72 totalWeight; // ≤ 16 voters · 1e18
    }

    struct VoterSlot {
        bytes24 commitment; // first 192 bits
        uint32 beaconId;
        uint8 position;
        uint8 state; // COMMITTED / REVEALED / ABSTAINED
        uint8 answer; // first-reveal order of the revealed answer (0 for an abstention)
    }

    struct Tally {
        uint88 weight; // ≤ 16 voters · 1e18
        uint8 support; // voters that revealed this answer
        uint8 len; // answer length, or LONG_ANSWER
        bytes19 text; // the answer if len ≤ 19, else the first 19 bytes of keccak256(answer)
    }

    /// @notice Source of final deliveries, chain weights and the settlement of each task.
    ITaskBeacon public immutable taskBeacon;
    /// @inheritdoc IVoteCommitment
    uint64 public immutable commitWindow;
    /// @inheritdoc IVoteCommitment
    uint64 public immutable revealWindow;

    mapping(bytes32 => Vote) internal _votes;
    mapping(bytes32 => mapping(uint256 => VoterSlot)) internal _voters;
    mapping(bytes32 => mapping(uint256 => Tally)) internal _tally; // taskId => order => tally
    mapping(bytes32 => mapping(uint256 => string)) internal _longText; // taskId => order => answer (> 19 bytes)

    /// @param taskBeacon_ TaskBeacon whose final deliveries are the commitments (it must bind this contract)
    /// @param commitWindow_ seconds after the first commitment before anyone may start the reveal phase
    /// @param revealWindow_ seconds the reveal phase lasts at most (deadlines saturate at the uint40 maximum)
    constructor(address taskBeacon_, uint64 commitWindow_, uint64 revealWindow_) {
        taskBeacon = ITaskBeacon(taskBeacon_);
        commitWindow = commitWindow_;
        revealWindow = revealWindow_;
    }

    // ------------------------------------------------------------------ phases

    /// @inheritdoc IVoteCommitment
    function recordCommitment(
        bytes32 taskId,
        uint256 beaconId,
        uint8 position,
        address voter,
        bytes32 commitment,
        uint256 expectedVoters
    ) external returns (bool counted) {
        if (msg.sender != address(taskBeacon)) revert NotTaskBeacon(msg.sender);
        Vote storage v = _votes[taskId];
        Phase phase = v.phase;
        if (phase == Phase.None) {
            v.phase = Phase.Commit;
            v.commitDeadline = _deadline(commitWindow);
        } else if (phase != Phase.Commit) {
            emit LateCommitment(taskId, voter, beaconId);
            return false;
        }
        uint256 commits = v.commits;
        // TaskBeacon allows MAX_VOTERS live final slots per task, one per agent: this never refuses in practice.
        if (commits >= MAX_VOTERS) {
            emit LateCommitment(taskId, voter, beaconId);
            return false;
        }
        _voters[taskId][commits] = VoterSlot({
            commitment: bytes24(commitment),
            beaconId: uint32(beaconId),
            position: position,
            state: COMMITTED,
            answer: 0
        });
        unchecked {
            ++commits; // < MAX_VOTERS
        }
        v.commits = uint8(commits);
        emit VoteCommitted(taskId, voter, beaconId, commitment);
        if (commits >= expectedVoters) _startReveal(taskId, v);
        return true;
    }

    /// @inheritdoc IVoteCommitment
    function startReveal(bytes32 taskId) external {
        Vote storage v = _votes[taskId];
        if (v.phase != Phase.Commit) revert WrongPhase(taskId, v.phase);
        if (block.timestamp <= v.commitDeadline && v.commits < taskBeacon.expectedVoters(taskId)) {
            revert CommitWindowOpen(taskId);
        }
        _startReveal(taskId, v);
    }

    /// @notice Reveal the committed answer with the result it was delivered with; its weight is the voter's chain
    ///         weight now. An empty answer is an abstention. The reveal that completes the vote finalizes it.
    /// @dev A reveal after the commit window also starts the reveal phase (saves a separate startReveal call).
    function reveal(bytes32 taskId, string calldata answer, bytes calldata result, bytes32 salt) external {
        Vote storage v = _votes[taskId];
        if (v.phase == Phase.Commit && block.timestamp > v.commitDeadline) _startReveal(taskId, v);
        if (v.phase != Phase.Reveal) revert WrongPhase(taskId, v.phase);
        if (block.timestamp > v.revealDeadline) revert RevealWindowOver(taskId);
        if (bytes(answer).length > MAX_ANSWER_BYTES) revert AnswerTooLong(bytes(answer).length, MAX_ANSWER_BYTES);
        if (result.length > MAX_RESULT_BYTES) revert ResultTooLong(result.length, MAX_RESULT_BYTES);
        bytes24 c = bytes24(keccak256(abi.encode(taskId, msg.sender, answer, keccak256(result), salt)));
        VoterSlot storage slot = _findVoter(taskId, v.commits, c);
        uint256 weight;
        if (bytes(answer).length != 0) {
            weight = taskBeacon.chainWeight(slot.beaconId >> 3);
            slot.state = REVEALED;
            slot.answer = _count(taskId, v, answer, weight);
            unchecked {
                v.nonEmpty += 1; // ≤ commits ≤ MAX_VOTERS
            }
        } else {
            slot.state = ABSTAINED;
        }
        uint256 reveals;
        unchecked {
            reveals = v.reveals + 1; // each committed voter reveals once
        }
        v.reveals = uint8(reveals);
        emit VoteRevealed(taskId, msg.sender, slot.beaconId, answer, weight, result);
        if (reveals == v.commits) _finalize(taskId, v);
    }

    /// @notice Close a vote whose reveal window is over with reveals missing (the reveal that completes a vote
    ///         finalizes it itself): emit the heaviest answer and hand every voter's outcome to TaskBeacon.settle
    ///         (evidence and slashes). Final.
    function finalize(bytes32 taskId) external {
        Vote storage v = _votes[taskId];
        if (v.phase != Phase.Reveal) revert WrongPhase(taskId, v.phase);
        if (v.reveals < v.commits && block.timestamp <= v.revealDeadline) revert RevealNotOver(taskId);
        _finalize(taskId, v);
    }

    function _finalize(bytes32 taskId, Vote storage v) private {
        uint256 commits = v.commits;
        v.phase = Phase.Finalized;
        uint8 leader = v.leader;
        mapping(uint256 => Tally) storage tallies = _tally[taskId];
        bool agreed = tallies[leader].support >= MIN_AGREEMENT;
        uint256 answered = v.nonEmpty;
        emit VoteFinalized(taskId, _answerOf(taskId, leader), tallies[leader].weight, v.totalWeight, v.reveals, commits);

        ITaskBeacon.VoterOutcome[] memory outcomes = new ITaskBeacon.VoterOutcome[](commits);
        mapping(uint256 => VoterSlot) storage voters = _voters[taskId];
        for (uint256 i; i < commits; ++i) {
            VoterSlot storage s = voters[i];
            ITaskBeacon.VoteOutcome o;
            if (s.state == COMMITTED) o = ITaskBeacon.VoteOutcome.Silent;
            else if (s.state == ABSTAINED) o = ITaskBeacon.VoteOutcome.Abstained;
            else if (tallies[s.answer].support >= MIN_AGREEMENT) {
                o = s.answer == leader ? ITaskBeacon.VoteOutcome.Won : ITaskBeacon.VoteOutcome.Outweighed;
            } else if (answered > MIN_AGREEMENT) {
                o = ITaskBeacon.VoteOutcome.Lost; // a lone answer against at least two other voters
            } else {
                // the only answer (nothing to agree with), or one of two that differ (one voice against one)
                o = answered == 1 ? ITaskBeacon.VoteOutcome.Won : ITaskBeacon.VoteOutcome.Unconfirmed;
            }
            outcomes[i] = ITaskBeacon.VoterOutcome(s.beaconId, s.position, o);
        }
        // The outcome above is final whatever settlement does; a failing settlement is logged, not fatal. Running
        // out of gas is no failure of settlement: revert so that the caller retries with enough gas.
        uint256 gasBefore = gasleft();
        try taskBeacon.settle(taskId, outcomes, agreed) {}
        catch (bytes memory reason) {
            if (gasleft() <= gasBefore / 63 || bytes4(reason) == ITaskBeacon.InsufficientGas.selector) {
                revert InsufficientGas();
            }
            emit SettlementFailed(taskId);
        }
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IVoteCommitment
    /// @dev winningAnswer / winningWeight are the running leader until finalized, then the outcome.
    function getVote(bytes32 taskId) external view returns (VoteInfo memory info) {
        Vote storage v = _votes[taskId];
        info.phase = v.phase;
        info.commitDeadline = v.commitDeadline;
        info.revealDeadline = v.revealDeadline;
        info.commits = v.commits;
        info.reveals = v.reveals;
        uint256 number = uint256(taskId);
        if (number != 0 && number <= taskBeacon.taskCount()) info.expectedVoters = uint16(taskBeacon.expectedVoters(taskId));
        info.winningAnswer = _answerOf(taskId, v.leader);
        info.winningWeight = _tally[taskId][v.leader].weight;
        info.totalWeight = v.totalWeight;
    }

    /// @inheritdoc IVoteCommitment
    function votersOf(bytes32 taskId) external view returns (Voter[] memory out) {
        uint256 n = _votes[taskId].commits;
        out = new Voter[](n);
        for (uint256 i; i < n; ++i) {
            VoterSlot storage s = _voters[taskId][i];
            out[i] = Voter(s.beaconId, s.position, s.state != COMMITTED, s.state == ABSTAINED, _answerOf(taskId, s.answer));
        }
    }

    /// @inheritdoc IVoteCommitment
    function computeCommitment(bytes32 taskId, address voter, string calldata answer, bytes calldata result, bytes32 salt)
        external
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(taskId, voter, answer, keccak256(result), salt));
    }

    // ------------------------------------------------------------------ internals

    function _startReveal(bytes32 taskId, Vote storage v) private {
        uint40 deadline = _deadline(revealWindow);
        v.phase = Phase.Reveal;
        v.revealDeadline = deadline;
        emit RevealPhaseStarted(taskId, deadline);
    }

    /// @dev now + window, saturating at the uint40 maximum (a window that large simply means "never").
    function _deadline(uint64 window) private view returns (uint40) {
        uint256 d = block.timestamp + window;
        return d > type(uint40).max ? type(uint40).max : uint40(d);
    }

    /// @dev The unrevealed voter slot whose commitment `c` opens; the error says whether it was already revealed.
    function _findVoter(bytes32 taskId, uint256 n, bytes24 c) private view returns (VoterSlot storage) {
        mapping(uint256 => VoterSlot) storage voters = _voters[taskId];
        bool seen;
        for (uint256 i; i < n; ++i) {
            VoterSlot storage s = voters[i];
            if (s.commitment != c) continue;
            if (s.state == COMMITTED) return s;
            seen = true;
        }
        if (seen) revert AlreadyRevealed(taskId, msg.sender);
        revert CommitmentMismatch(taskId, msg.sender);
    }

    /// @dev Adds `weight` to `answer`'s tally (creating it on first reveal), then updates the total and the
    ///      leader. Returns the answer's first-reveal order.
    function _count(bytes32 taskId, Vote storage v, string calldata answer, uint256 weight) private returns (uint8 order) {
        (uint8 len, bytes19 text) = _key(answer);
        mapping(uint256 => Tally) storage tallies = _tally[taskId];
        uint256 n = v.answers;
        uint88 w;
        for (uint256 i = 1; i <= n; ++i) {
            Tally storage t = tallies[i];
            if (t.len == len && t.text == text) {
                order = uint8(i);
                w = t.weight + uint88(weight); // chain weights ≤ 1e18, ≤ 16 voters: no overflow
                t.weight = w;
                unchecked {
                    t.support += 1; // ≤ reveals ≤ MAX_VOTERS
                }
                break;
            }
        }
        if (order == 0) {
            unchecked {
                order = uint8(n + 1); // distinct answers ≤ reveals ≤ MAX_VOTERS
            }
            w = uint88(weight);
            v.answers = order;
            tallies[order] = Tally({weight: w, support: 1, len: len, text: text});
            if (len == LONG_ANSWER) _longText[taskId][order] = answer;
        }
        v.totalWeight += uint72(weight);
        uint8 leader = v.leader;
        if (leader == 0) {
            v.leader = order;
        } else if (leader != order) {
            Tally storage lt = tallies[leader];
            uint88 lw = lt.weight;
            if (w > lw || (w == lw && _tieKey(taskId, len, text) < _tieKey(taskId, lt.len, lt.text))) v.leader = order;
        }
    }

    function _tieKey(bytes32 taskId, uint8 len, bytes19 text) private pure returns (uint256) {
        return uint256(keccak256(abi.encodePacked(taskId, len, text)));
    }

    /// @dev Equality key of an answer: (length, the bytes themselves) when short, (LONG_ANSWER, hash prefix) else.
    function _key(string calldata answer) private pure returns (uint8 len, bytes19 text) {
        uint256 n = bytes(answer).length;
        if (n <= INLINE_BYTES) return (uint8(n), bytes19(bytes(answer)));
        return (LONG_ANSWER, bytes19(keccak256(bytes(answer))));
    }

    /// @dev Text of the answer with first-reveal order `order` ("" for 0 = no answer).
    function _answerOf(bytes32 taskId, uint8 order) private view returns (string memory) {
        if (order == 0) return "";
        Tally storage t = _tally[taskId][order];
        uint8 len = t.len;
        if (len == LONG_ANSWER) return _longText[taskId][order];
        bytes19 text = t.text;
        bytes memory out = new bytes(len);
        for (uint256 i; i < len; ++i) {
            out[i] = text[i];
        }
        return string(out);
    }
}
