// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title ITaskBeacon
/// @notice Subtask beacons: agents bid by on-chain capability match, the top-k are assigned, results are posted.
interface ITaskBeacon {
    enum Status {
        None,
        Bidding,
        Assigned,
        Completed,
        Unfilled // closed with no bids, or every slot expired with nobody left: reward refunded
    }

    struct BeaconInfo {
        bytes32 taskId;
        uint16 cotIndex;
        uint16 stepIndex;
        uint8 executors; // k requested
        bool reputationWeighted;
        bool isFinal;
        Status status;
        address requester;
        bytes32 requirement;
        bytes32 payloadHash;
        uint64 bidDeadline; // bids accepted while block.timestamp <= bidDeadline
        uint64 execDeadline; // results accepted while block.timestamp <= execDeadline (0 before close)
        uint32 execWindow;
        uint128 reward; // total escrowed reward still held for this beacon
        uint8 delivered; // results submitted so far
    }

    struct Bid {
        address agent;
        uint64 score; // WAD
    }

    error UnknownBeacon(uint256 beaconId);
    error PayloadTooLarge(uint256 length, uint256 maximum);
    error InvalidExecutors(uint8 executors);
    error InvalidWindow();
    error BiddingClosed(uint256 beaconId);
    error BiddingOpen(uint256 beaconId);
    error AlreadyBid(uint256 beaconId, address agent);
    error TooManyBids(uint256 beaconId);
    error AgentNotAvailable(address agent);
    error WrongStatus(uint256 beaconId, Status status);
    error NotAssigned(uint256 beaconId, address agent);
    error AlreadySubmitted(uint256 beaconId, address agent);
    error DeadlinePassed(uint256 beaconId);
    error DeadlineNotPassed(uint256 beaconId);
    error TransferFailed();
    /// @notice Added: msg.value does not fit the packed uint96 escrow (more than 7.9e10 ether).
    error RewardTooLarge(uint256 value);
    /// @notice Added by the lead: a task id belongs to the requester who first used it.
    error NotTaskRequester(bytes32 taskId, address caller);

    event BeaconPosted(
        uint256 indexed beaconId,
        bytes32 indexed taskId,
        address indexed requester,
        uint16 cotIndex,
        uint16 stepIndex,
        bytes32 requirement,
        bytes payload,
        uint64 bidDeadline,
        uint8 executors,
        uint256 reward,
        bool isFinal
    );
    event TaskOpened(bytes32 indexed taskId, address indexed requester, uint16 expectedVoters);
    event BidPlaced(uint256 indexed beaconId, address indexed agent, uint64 score);
    /// @notice One event per assigned executor, so agents can filter on their own address.
    event ExecutorAssigned(uint256 indexed beaconId, address indexed agent, bytes32 indexed taskId, uint64 score, uint64 execDeadline);
    event BeaconUnfilled(uint256 indexed beaconId, uint256 refunded);
    event ResultSubmitted(uint256 indexed beaconId, address indexed agent, bytes32 indexed taskId, bytes32 resultHash, bytes result);
    event BeaconCompleted(uint256 indexed beaconId, bytes32 indexed taskId);
    event ExecutorTimedOut(uint256 indexed beaconId, address indexed agent);
    event RewardRefunded(uint256 indexed beaconId, address indexed requester, uint256 amount);

    function postBeacon(
        bytes32 taskId,
        uint16 cotIndex,
        uint16 stepIndex,
        bytes32 requirement,
        bytes calldata payload,
        uint32 bidWindow,
        uint32 execWindow,
        uint8 executors,
        bool reputationWeighted,
        bool isFinal
    ) external payable returns (uint256 beaconId);
    function openTask(bytes32 taskId, uint16 expectedVoters) external;
    function bid(uint256 beaconId) external;
    function close(uint256 beaconId) external;
    function submitResult(uint256 beaconId, bytes calldata result) external;
    /// @notice After the exec deadline: penalise and replace (or refund) every executor that did not deliver.
    function reclaimExpired(uint256 beaconId) external;

    function beaconCount() external view returns (uint256);
    function getBeacon(uint256 beaconId) external view returns (BeaconInfo memory);
    function getBids(uint256 beaconId) external view returns (Bid[] memory);
    function executorsOf(uint256 beaconId) external view returns (address[] memory);
    function isExecutor(uint256 beaconId, address agent) external view returns (bool);
    /// @notice keccak256 of the delivered result, zero if none yet.
    function resultHashOf(uint256 beaconId, address agent) external view returns (bytes32);
    /// @notice Mean match score (WAD) of the executors who delivered results on chain (taskId, cotIndex): Symphony's w_i.
    function chainWeight(bytes32 taskId, uint16 cotIndex) external view returns (uint256);
    /// @notice Number of executor slots on final beacons of the task (the voters expected by VoteCommitment).
    function finalExecutorCount(bytes32 taskId) external view returns (uint256);
    function maxPayloadBytes() external view returns (uint256);
    function taskRequester(bytes32 taskId) external view returns (address);
    /// @notice max(declared voters, final executor slots closed so far): the voters VoteCommitment waits for.
    function expectedVoters(bytes32 taskId) external view returns (uint256);
    /// @notice Added for VoteCommitment.commit (one call instead of four): the beacon's task, chain and finality,
    ///         the voter's delivered result hash (zero if none) and finalExecutorCount(taskId). Reverts UnknownBeacon.
    function voteContext(uint256 beaconId, address voter)
        external
        view
        returns (bytes32 taskId, uint16 cotIndex, bool isFinal, bytes32 resultHash, uint256 finalExecutors);
}
