// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IVoteCommitment} from "./interfaces/IVoteCommitment.sol";
import {ITaskBeacon} from "./interfaces/ITaskBeacon.sol";
import {ICapabilityLedger} from "./interfaces/ICapabilityLedger.sol";

/// @title VoteCommitment
/// @notice Commit-reveal weighted vote over the final answers of a task's chains of thought (docs/protocol.md).
/// @dev Gas layout (every agent step is one of these calls):
///      - one slot per vote: phase, deadlines (uint40), counters, leader and the running total weight;
///      - per voter: the commitment and one packed slot (address, chain, revealed, answer order);
///      - per distinct answer: one tally slot keyed by first-reveal order holding the weight and, for answers of
///        ≤ 19 bytes (numbers, labels), the answer itself; longer answers keep a 152-bit hash there and their
///        text in a separate string. A reveal finds its answer by scanning the ≤ 32 tallies.
///      The tally is incremental, so finalize never re-reads answers. The leader is the argmax of
///      (weight desc, first-reveal order asc): a reveal only raises its own answer's key, so comparing that
///      answer with the current leader keeps the argmax exact.
contract VoteCommitment is IVoteCommitment {
    /// @notice `VoterSlot.answer` of a voter who revealed an empty answer (an explicit abstention).
    uint8 internal constant ABSTAINED = type(uint8).max;
    /// @notice Most voters (commitments) per task.
    uint256 public constant MAX_VOTERS = 32;
    /// @notice Longest revealed answer, in bytes.
    uint256 public constant MAX_ANSWER_BYTES = 128;
    /// @notice Reputation change (WAD) for revealing the winning answer.
    int256 public constant AGREE_REWARD = 0.05e18;
    /// @notice Reputation change (WAD) for committing and never revealing.
    int256 public constant NO_REVEAL_PENALTY = -0.1e18;

    struct Vote {
        Phase phase;
        uint40 commitDeadline;
        uint40 revealDeadline;
        uint8 commits; // ≤ MAX_VOTERS
        uint8 reveals;
        uint8 expectedVoters; // clamped to 255: beyond MAX_VOTERS the count can never be reached anyway
        uint8 answers; // distinct answers revealed so far
        uint8 leader; // first-reveal order (1-based) of the leading answer, 0 = none
        uint72 totalWeight; // ≤ 32 voters · 2e18
    }

    struct VoterSlot {
        address voter;
        uint16 cotIndex;
        bool revealed;
        uint8 answer; // first-reveal order of the revealed answer
    }

    struct Tally {
        uint96 weight;
        uint8 len; // answer length, or LONG_ANSWER
        bytes19 text; // the answer if len ≤ 19, else the first 19 bytes of keccak256(answer)
    }

    uint8 internal constant LONG_ANSWER = 255;
    uint256 internal constant INLINE_BYTES = 19;

    /// @notice The registry whose reputation the outcome moves (this contract must be authorised there).
    ICapabilityLedger public immutable ledger;
    /// @notice Source of final executors, delivered results and chain weights.
    ITaskBeacon public immutable taskBeacon;
    /// @inheritdoc IVoteCommitment
    uint64 public immutable commitWindow;
    /// @inheritdoc IVoteCommitment
    uint64 public immutable revealWindow;

    mapping(bytes32 => Vote) internal _votes;
    mapping(bytes32 => mapping(address => bytes32)) internal _commitments;
    mapping(bytes32 => mapping(uint256 => VoterSlot)) internal _voters;
    mapping(bytes32 => mapping(uint256 => Tally)) internal _tally; // taskId => order => tally
    mapping(bytes32 => mapping(uint256 => string)) internal _longText; // taskId => order => answer (> 19 bytes)

    /// @param ledger_ CapabilityLedger
    /// @param taskBeacon_ TaskBeacon whose final beacons define the voters
    /// @param commitWindow_ seconds after the first commit before anyone may start the reveal phase
    /// @param revealWindow_ seconds the reveal phase lasts at most (deadlines saturate at the uint40 maximum)
    constructor(address ledger_, address taskBeacon_, uint64 commitWindow_, uint64 revealWindow_) {
        ledger = ICapabilityLedger(ledger_);
        taskBeacon = ITaskBeacon(taskBeacon_);
        commitWindow = commitWindow_;
        revealWindow = revealWindow_;
    }

    // ------------------------------------------------------------------ phases

    /// @notice Commit keccak256(abi.encode(taskId, msg.sender, answer, cotHash, salt)) as an executor of final
    ///         beacon `beaconId` of `taskId` who already delivered its result. The first commit opens the vote.
    function commit(bytes32 taskId, uint256 beaconId, bytes32 commitment) external {
        (bytes32 beaconTask, uint16 cotIndex, bool isFinal, bytes32 resultHash, uint256 finalExecutors) =
            taskBeacon.voteContext(beaconId, msg.sender);
        if (beaconTask != taskId || !isFinal) revert NotFinalExecutor(taskId, beaconId, msg.sender);
        if (resultHash == bytes32(0)) {
            if (!taskBeacon.isExecutor(beaconId, msg.sender)) revert NotFinalExecutor(taskId, beaconId, msg.sender);
            revert ResultNotDelivered(beaconId, msg.sender);
        }

        Vote storage v = _votes[taskId];
        if (v.phase == Phase.None) {
            v.phase = Phase.Commit;
            v.commitDeadline = _deadline(commitWindow);
        } else if (v.phase != Phase.Commit) {
            revert WrongPhase(taskId, v.phase);
        } else if (block.timestamp > v.commitDeadline) {
            revert CommitWindowOver(taskId);
        }
        // A zero commitment could never be revealed (keccak256 is never 0 in practice) and would read as "none".
        if (commitment == bytes32(0)) revert CommitmentMismatch(taskId, msg.sender);
        mapping(address => bytes32) storage commitments = _commitments[taskId];
        if (commitments[msg.sender] != bytes32(0)) revert AlreadyCommitted(taskId, msg.sender);
        uint256 commits = v.commits;
        if (commits >= MAX_VOTERS) revert TooManyVoters(taskId);

        commitments[msg.sender] = commitment;
        _voters[taskId][commits] = VoterSlot({voter: msg.sender, cotIndex: cotIndex, revealed: false, answer: 0});
        unchecked {
            // cannot overflow: commits < MAX_VOTERS (32) was checked above
            ++commits;
        }
        v.commits = uint8(commits);
        uint8 expected = finalExecutors > type(uint8).max ? type(uint8).max : uint8(finalExecutors);
        v.expectedVoters = expected;
        emit VoteCommitted(taskId, msg.sender, beaconId, commitment);
        if (commits >= expected) _startReveal(taskId, v);
    }

    /// @notice Move a vote to the reveal phase once its commit window is over — or at once, if the caller is the
    ///         task's requester: it knows which of its chains finished (a chain may fail, or one agent may hold the
    ///         final step of two chains and so cast one vote), and it is its own question that waits.
    function startReveal(bytes32 taskId) external {
        Vote storage v = _votes[taskId];
        if (v.phase != Phase.Commit) revert WrongPhase(taskId, v.phase);
        if (block.timestamp <= v.commitDeadline && msg.sender != taskBeacon.taskRequester(taskId)) {
            revert CommitWindowOpen(taskId);
        }
        _startReveal(taskId, v);
    }

    /// @notice Reveal the committed answer; its weight is the voter's chain weight at this moment.
    /// @dev A reveal after the commit window also starts the reveal phase (saves a separate startReveal call).
    function reveal(bytes32 taskId, string calldata answer, bytes32 cotHash, bytes32 salt) external {
        Vote storage v = _votes[taskId];
        if (v.phase == Phase.Commit && block.timestamp > v.commitDeadline) _startReveal(taskId, v);
        if (v.phase != Phase.Reveal) revert WrongPhase(taskId, v.phase);
        if (block.timestamp > v.revealDeadline) revert RevealWindowOver(taskId);
        if (bytes(answer).length > MAX_ANSWER_BYTES) revert AnswerTooLong(bytes(answer).length, MAX_ANSWER_BYTES);
        bytes32 committed = _commitments[taskId][msg.sender];
        if (committed == bytes32(0)) revert NoCommitment(taskId, msg.sender);
        VoterSlot storage slot = _findVoter(taskId, v.commits, msg.sender);
        if (slot.revealed) revert AlreadyRevealed(taskId, msg.sender);
        if (keccak256(abi.encode(taskId, msg.sender, answer, cotHash, salt)) != committed) {
            revert CommitmentMismatch(taskId, msg.sender);
        }

        // An empty answer is an explicit abstention: the voter revealed (no penalty) but adds no weight.
        uint256 weight = bytes(answer).length == 0 ? 0 : taskBeacon.chainWeight(taskId, slot.cotIndex);
        uint8 order = bytes(answer).length == 0 ? ABSTAINED : _count(taskId, v, answer, weight);
        slot.revealed = true;
        slot.answer = order;
        unchecked {
            // cannot overflow: each committed voter reveals once (slot.revealed), commits <= MAX_VOTERS (32)
            v.reveals += 1;
        }
        emit VoteRevealed(taskId, msg.sender, answer, cotHash, weight);
    }

    /// @notice Close the vote once every commitment is revealed or the reveal window is over: emit the heaviest
    ///         answer, reward agreeing voters, penalise voters who never revealed. Final: nothing changes after.
    function finalize(bytes32 taskId) external {
        Vote storage v = _votes[taskId];
        if (v.phase != Phase.Reveal) revert WrongPhase(taskId, v.phase);
        uint256 commits = v.commits;
        uint256 reveals = v.reveals;
        if (reveals < commits && block.timestamp <= v.revealDeadline) revert RevealNotOver(taskId);
        v.phase = Phase.Finalized;
        uint8 leader = v.leader;
        emit VoteFinalized(
            taskId, _answerOf(taskId, leader), _tally[taskId][leader].weight, v.totalWeight, reveals, commits
        );

        // Interactions with the trusted ledger only; all state above is final.
        mapping(uint256 => VoterSlot) storage voters = _voters[taskId];
        for (uint256 i; i < commits; ++i) {
            VoterSlot storage s = voters[i];
            if (!s.revealed) {
                emit VotePenalized(taskId, s.voter);
                ledger.adjustReputation(s.voter, NO_REVEAL_PENALTY);
            } else if (s.answer == leader) {
                ledger.adjustReputation(s.voter, AGREE_REWARD);
            }
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
        info.expectedVoters = v.expectedVoters;
        info.winningAnswer = _answerOf(taskId, v.leader);
        info.winningWeight = _tally[taskId][v.leader].weight;
        info.totalWeight = v.totalWeight;
    }

    /// @inheritdoc IVoteCommitment
    function commitmentOf(bytes32 taskId, address voter) external view returns (bytes32) {
        return _commitments[taskId][voter];
    }

    /// @inheritdoc IVoteCommitment
    function votersOf(bytes32 taskId) external view returns (address[] memory out) {
        uint256 n = _votes[taskId].commits;
        out = new address[](n);
        for (uint256 i; i < n; ++i) {
            out[i] = _voters[taskId][i].voter;
        }
    }

    /// @inheritdoc IVoteCommitment
    function computeCommitment(bytes32 taskId, address voter, string calldata answer, bytes32 cotHash, bytes32 salt)
        external
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(taskId, voter, answer, cotHash, salt));
    }

    // ------------------------------------------------------------------ internals

    function _startReveal(bytes32 taskId, Vote storage v) private {
        uint40 deadline = _deadline(revealWindow);
        v.phase = Phase.Reveal;
        v.revealDeadline = deadline;
        emit RevealPhaseStarted(taskId, deadline);
    }

    /// @dev now + window, saturating at the uint40 maximum (deadlines are packed as uint40; a window that large
    ///      simply means "never").
    function _deadline(uint64 window) private view returns (uint40) {
        uint256 d = block.timestamp + window;
        return d > type(uint40).max ? type(uint40).max : uint40(d);
    }

    function _findVoter(bytes32 taskId, uint256 n, address voter) private view returns (VoterSlot storage) {
        mapping(uint256 => VoterSlot) storage voters = _voters[taskId];
        for (uint256 i; i < n; ++i) {
            if (voters[i].voter == voter) return voters[i];
        }
        revert NoCommitment(taskId, voter); // unreachable: a commitment always has a voter slot
    }

    /// @dev Adds `weight` to `answer`'s tally (creating it on first reveal), then updates the total and the
    ///      leader. Returns the answer's first-reveal order.
    function _count(bytes32 taskId, Vote storage v, string calldata answer, uint256 weight)
        private
        returns (uint8 order)
    {
        (uint8 len, bytes19 text) = _key(answer);
        mapping(uint256 => Tally) storage tallies = _tally[taskId];
        uint256 n = v.answers;
        uint96 w;
        for (uint256 i = 1; i <= n; ++i) {
            Tally storage t = tallies[i];
            if (t.len == len && t.text == text) {
                order = uint8(i);
                w = t.weight + uint96(weight); // chain weights ≤ 2e18, ≤ 32 voters: no overflow
                t.weight = w;
                break;
            }
        }
        if (order == 0) {
            unchecked {
                // cannot overflow: distinct answers n <= reveals <= MAX_VOTERS (32), so n + 1 fits uint8
                order = uint8(n + 1);
            }
            w = uint96(weight);
            v.answers = order;
            tallies[order] = Tally({weight: w, len: len, text: text});
            if (len == LONG_ANSWER) _longText[taskId][order] = answer;
        }
        v.totalWeight += uint72(weight);
        uint8 leader = v.leader;
        if (leader == 0) {
            v.leader = order;
        } else if (leader != order) {
            uint96 lw = tallies[leader].weight;
            if (w > lw || (w == lw && order < leader)) v.leader = order;
        }
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
