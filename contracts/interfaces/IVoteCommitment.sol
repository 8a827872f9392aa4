// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IVoteCommitment
/// @notice Commit-reveal weighted voting over the final answers of a task's chains of thought.
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
        uint16 expectedVoters;
        string winningAnswer;
        uint256 winningWeight; // sum of chain weights (WAD) behind the winning answer
        uint256 totalWeight; // sum over all revealed votes
    }

    error NotFinalExecutor(bytes32 taskId, uint256 beaconId, address voter);
    error ResultNotDelivered(uint256 beaconId, address voter);
    error AlreadyCommitted(bytes32 taskId, address voter);
    error WrongPhase(bytes32 taskId, Phase phase);
    error NoCommitment(bytes32 taskId, address voter);
    error AlreadyRevealed(bytes32 taskId, address voter);
    error CommitmentMismatch(bytes32 taskId, address voter);
    error RevealNotOver(bytes32 taskId);
    error TooManyVoters(bytes32 taskId);
    error AnswerTooLong(uint256 length, uint256 maximum);
    /// @notice Added: commit after commitDeadline (call startReveal instead).
    error CommitWindowOver(bytes32 taskId);
    /// @notice Added: startReveal before commitDeadline while commitments are still missing.
    error CommitWindowOpen(bytes32 taskId);
    /// @notice Added: reveal after revealDeadline (call finalize instead).
    error RevealWindowOver(bytes32 taskId);

    event VoteCommitted(bytes32 indexed taskId, address indexed voter, uint256 indexed beaconId, bytes32 commitment);
    event RevealPhaseStarted(bytes32 indexed taskId, uint64 revealDeadline);
    event VoteRevealed(bytes32 indexed taskId, address indexed voter, string answer, bytes32 cotHash, uint256 weight);
    event VoteFinalized(bytes32 indexed taskId, string answer, uint256 weight, uint256 totalWeight, uint256 revealed, uint256 committed);
    event VotePenalized(bytes32 indexed taskId, address indexed voter);

    /// @notice Commit keccak256(abi.encode(taskId, msg.sender, answer, cotHash, salt)) as an executor of final beacon `beaconId`.
    function commit(bytes32 taskId, uint256 beaconId, bytes32 commitment) external;
    /// @notice Anyone may move a vote to the reveal phase once the commit window is over; the task's requester may
    ///         do it at any time during the commit phase.
    function startReveal(bytes32 taskId) external;
    function reveal(bytes32 taskId, string calldata answer, bytes32 cotHash, bytes32 salt) external;
    function finalize(bytes32 taskId) external;

    function getVote(bytes32 taskId) external view returns (VoteInfo memory);
    function commitmentOf(bytes32 taskId, address voter) external view returns (bytes32);
    function votersOf(bytes32 taskId) external view returns (address[] memory);
    function computeCommitment(bytes32 taskId, address voter, string calldata answer, bytes32 cotHash, bytes32 salt)
        external
        pure
        returns (bytes32);
    function commitWindow() external view returns (uint64);
    function revealWindow() external view returns (uint64);
}
