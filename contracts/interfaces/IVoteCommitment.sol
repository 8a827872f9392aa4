// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IVoteCommitment
/// @notice Commit-reveal weighted vote over the final answers of a task's chains. The commitment is made by
///         TaskBeacon at delivery (`commitResult`), so no final answer or result is public before every voter is
///         bound; the reveal publishes (answer, result) together and must open the delivered commitment.
interface IVoteCommitment {
    enum Phase {
        None,
        Commit,
        Reveal,
        Finalized
    }

    struct VoteInfo {
        Phase phase;
        uint64 commitDeadline;
        uint64 revealDeadline; // 0 until the reveal phase starts
        uint16 commits;
        uint16 reveals;
        uint16 expectedVoters; // live final slots on TaskBeacon now
        string winningAnswer;
        uint256 winningWeight; // sum of chain weights (WAD) behind the winning answer
        uint256 totalWeight; // sum over all revealed non-empty votes
    }

    struct Voter {
        uint256 beaconId;
        uint8 position;
        bool revealed;
        bool abstained;
        string answer; // "" until revealed (and for an abstention)
    }

    error WrongPhase(bytes32 taskId, Phase phase);
    error AlreadyRevealed(bytes32 taskId, address voter);
    error CommitmentMismatch(bytes32 taskId, address voter);
    error RevealNotOver(bytes32 taskId);
    error AnswerTooLong(uint256 length, uint256 maximum);
    error ResultTooLong(uint256 length, uint256 maximum);
    /// @notice startReveal while the commit window is open and a live final slot has not committed yet.
    error CommitWindowOpen(bytes32 taskId);
    /// @notice reveal after revealDeadline (call finalize instead).
    error RevealWindowOver(bytes32 taskId);
    error NotTaskBeacon(address caller);
    /// @notice Settlement ran out of gas (not a refusal): retry with a higher gas limit.
    error InsufficientGas();

    event VoteCommitted(bytes32 indexed taskId, address indexed voter, uint256 indexed beaconId, bytes32 commitment);
    /// @notice A final delivery arrived after the reveal phase began: it does not vote (its share is refunded).
    event LateCommitment(bytes32 indexed taskId, address indexed voter, uint256 indexed beaconId);
    event RevealPhaseStarted(bytes32 indexed taskId, uint64 revealDeadline);
    /// @notice The answer and the full result it was extracted from, bound together at delivery.
    event VoteRevealed(bytes32 indexed taskId, address indexed voter, uint256 indexed beaconId, string answer, uint256 weight, bytes result);
    event VoteFinalized(bytes32 indexed taskId, string answer, uint256 weight, uint256 totalWeight, uint256 revealed, uint256 committed);
    event VotePenalized(bytes32 indexed taskId, address indexed voter);
    /// @notice TaskBeacon.settle reverted; the vote is final regardless.
    event SettlementFailed(bytes32 indexed taskId);

    /// @notice TaskBeacon only: the commitment a final executor delivered. Returns false (nothing stored) once the
    ///         reveal phase began.
    function recordCommitment(bytes32 taskId, uint256 beaconId, uint8 position, address voter, bytes32 commitment, uint256 expectedVoters)
        external
        returns (bool counted);
    /// @notice Anyone, once the commit window is over or every live final slot has committed.
    function startReveal(bytes32 taskId) external;
    function reveal(bytes32 taskId, string calldata answer, bytes calldata result, bytes32 salt) external;
    function finalize(bytes32 taskId) external;

    function getVote(bytes32 taskId) external view returns (VoteInfo memory);
    function votersOf(bytes32 taskId) external view returns (Voter[] memory);
    /// @notice keccak256(abi.encode(taskId, voter, answer, keccak256(result), salt)): what a final executor
    ///         delivers with TaskBeacon.commitResult.
    function computeCommitment(bytes32 taskId, address voter, string calldata answer, bytes calldata result, bytes32 salt)
        external
        pure
        returns (bytes32);
    function commitWindow() external view returns (uint64);
    function revealWindow() external view returns (uint64);
}
