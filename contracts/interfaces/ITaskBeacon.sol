// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title ITaskBeacon
/// @notice Tasks of K chains of subtask beacons: agents bid (scored on chain from declared match × verified record),
///         the top-k are assigned step by step, results are delivered (final steps as vote commitments), paid,
///         and settled by the task's vote. docs/protocol.md states every rule.
interface ITaskBeacon {
    enum Status {
        None,
        Bidding,
        Assigned,
        Completed,
        Unfilled // closed with no (reservable) bidder, or every slot expired with nobody left: escrow credited back
    }

    /// @notice What a requester posts once per task; every chain shares it.
    struct TaskSpec {
        bytes32 kind; // kind of work for the evidence record; zero: derived per step from its requirement
        uint32 bidWindow; // seconds bids are accepted (≤ MAX_BID_WINDOW)
        uint32 execWindow; // seconds an executor has, from its step's assignment
        uint8 executors; // k executors per step
        uint96 rewardPerExecutor; // wei per delivered slot; msg.value = escrow + 10 % fee, escrow = reward · k · steps
    }

    /// @notice One chain of thought: the requirement vector of each step (the last step is final) and the payload
    ///         every step of the chain receives (executors read earlier steps' results from ResultSubmitted).
    struct ChainSpec {
        bytes32[] requirements;
        bytes payload;
    }

    struct TaskInfo {
        address requester;
        uint32 firstChain; // chain ids firstChain .. firstChain + chains - 1; beacon id = chainId · 8 + step
        uint8 chains;
        uint8 expectedVoters; // live final slots: the voters VoteCommitment waits for
        bool settled;
        bytes32 kind; // zero: derived per step
    }

    struct BeaconInfo {
        bytes32 taskId;
        uint256 chainId;
        uint8 cotIndex;
        uint8 stepIndex;
        uint8 steps; // steps in the chain; the last one is final
        uint8 executors; // k requested
        bool isFinal;
        Status status;
        address requester;
        bytes32 requirementsHash; // keccak256(abi.encodePacked(requirements)) of the chain
        bytes32 kind; // the evidence kind of this step
        uint64 bidDeadline; // bids accepted while block.timestamp <= bidDeadline
        uint64 execDeadline; // deliveries accepted while block.timestamp <= execDeadline (0 before assignment)
        uint32 execWindow;
        uint96 rewardPerExecutor;
        uint8 bids;
        uint8 slots; // live executor slots after assignment
        uint8 delivered;
        uint8 rounds; // reassignment rounds used
    }

    struct Bid {
        address agent;
        uint64 score; // WAD, a multiple of 1e9 (stored in 1e-9 units)
        bool newcomer;
    }

    /// @notice Outcome of one final executor's vote, as VoteCommitment reports it to `settle`.
    enum VoteOutcome {
        Won, // revealed the winning answer, or the only non-empty answer
        Lost, // revealed an answer no other voter reached, while at least two others answered
        Abstained, // revealed the empty answer
        Silent, // committed and never revealed
        Outweighed, // revealed an answer other voters agreed with, out-weighed by the winner
        Unconfirmed // one of exactly two non-empty answers, and they differ: nobody can tell which is wrong
    }

    struct VoterOutcome {
        uint256 beaconId;
        uint8 position; // the voter's bid position on that final beacon
        VoteOutcome outcome;
    }

    error UnknownBeacon(uint256 beaconId);
    error UnknownTask(bytes32 taskId);
    error PayloadTooLarge(uint256 length, uint256 maximum);
    error InvalidExecutors(uint8 executors);
    error InvalidWindow();
    error InvalidChains(uint256 chains);
    error InvalidSteps(uint256 steps);
    error TooManyVoters(uint256 finalSlots);
    error WrongValue(uint256 sent, uint256 expected);
    error BiddingClosed(uint256 beaconId);
    error BiddingOpen(uint256 beaconId);
    error PredecessorPending(uint256 beaconId);
    error AlreadyBid(uint256 beaconId, address agent);
    error BidTooLow(uint256 beaconId, uint64 score, uint64 lowest);
    error AgentNotAvailable(address agent);
    error RequesterCannotBid(uint256 beaconId);
    error RequirementsMismatch(uint256 beaconId);
    error WrongStatus(uint256 beaconId, Status status);
    error NotAssigned(uint256 beaconId, address agent);
    error AlreadySubmitted(uint256 beaconId, address agent);
    error EmptyResult(uint256 beaconId);
    error NotFinal(uint256 beaconId);
    error FinalStep(uint256 beaconId);
    error DeadlinePassed(uint256 beaconId);
    error DeadlineNotPassed(uint256 beaconId);
    error NotRequester(address caller);
    error NotVoteContract(address caller);
    error AlreadyBound();
    error AlreadySettled(bytes32 taskId);
    error TaskIsCancelled(bytes32 taskId);
    error NothingToWithdraw();
    error TransferFailed();
    /// @notice A ledger hook ran out of gas (not a refusal): retry with a higher gas limit.
    error InsufficientGas();

    event TaskPosted(
        bytes32 indexed taskId,
        address indexed requester,
        uint32 firstChain,
        uint8 chains,
        uint8 executors,
        uint32 execWindow,
        uint96 rewardPerExecutor,
        bytes32 kind
    );
    /// @notice One per chain: its beacons are chainId · 8 + i for i < requirements.length.
    event ChainPosted(
        bytes32 indexed taskId,
        uint256 indexed chainId,
        uint8 cotIndex,
        bytes32[] requirements,
        bytes payload,
        uint64 bidDeadline
    );
    /// @notice `displaced` is the bidder this bid pushed out of a full book (zero if none).
    event BidPlaced(uint256 indexed beaconId, address indexed agent, uint64 score, bool newcomer, address displaced);
    /// @notice One event per assigned executor, so agents can filter on their own address.
    event ExecutorAssigned(
        uint256 indexed beaconId, address indexed agent, bytes32 indexed taskId, uint64 score, uint64 execDeadline
    );
    event BeaconUnfilled(uint256 indexed beaconId, uint256 refunded);
    event BeaconReopened(uint256 indexed beaconId, uint64 bidDeadline);
    /// @notice A non-final step's result; the bytes travel here only (nothing but the delivery bit is stored).
    event ResultSubmitted(uint256 indexed beaconId, address indexed agent, bytes32 indexed taskId, bytes result);
    event BeaconCompleted(uint256 indexed beaconId, bytes32 indexed taskId);
    event ExecutorTimedOut(uint256 indexed beaconId, address indexed agent);
    /// @notice Escrow credited back to the requester (withdraw with withdrawCredit).
    event RewardRefunded(uint256 indexed beaconId, address indexed requester, uint256 amount);
    event TaskSettled(bytes32 indexed taskId, uint256 wonChains, bool evidence);
    /// @notice The requester cancelled the task: `unfilled` steps closed with their escrow credited back,
    ///         `assigned` steps left to deliver (paid) or time out.
    event TaskCancelled(bytes32 indexed taskId, uint256 unfilled, uint256 assigned);
    event CreditWithdrawn(address indexed account, uint256 amount);
    event VoteBound(address vote);
    /// @notice A ledger hook reverted (e.g. this contract was de-authorised); escrow moved on regardless.
    event LedgerCallFailed(bytes4 indexed selector, address indexed agent);

    function postTask(TaskSpec calldata spec, ChainSpec[] calldata chains) external payable returns (bytes32 taskId);
    function bid(uint256 beaconId, bytes32[] calldata requirements) external;
    function close(uint256 beaconId) external;
    function submitResult(uint256 beaconId, bytes calldata result) external;
    function commitResult(uint256 beaconId, bytes32 commitment) external;
    function reclaimExpired(uint256 beaconId) external;
    function reopen(uint256 beaconId, uint32 bidWindow) external payable;
    function cancelTask(bytes32 taskId) external;
    function withdrawCredit() external;
    function bindVote(address vote) external;
    /// @notice VoteCommitment only, once per task: record evidence and slash (claw back) failed deliveries.
    ///         `agreed`: the winning answer was revealed by at least two voters, so its successes count.
    function settle(bytes32 taskId, VoterOutcome[] calldata outcomes, bool agreed) external;

    function taskCount() external view returns (uint256);
    /// @notice Whether the requester cancelled the task (`cancelTask`).
    function isCancelled(bytes32 taskId) external view returns (bool);
    function getTask(bytes32 taskId) external view returns (TaskInfo memory);
    function getBeacon(uint256 beaconId) external view returns (BeaconInfo memory);
    function getBids(uint256 beaconId) external view returns (Bid[] memory);
    function executorsOf(uint256 beaconId) external view returns (address[] memory);
    function isExecutor(uint256 beaconId, address agent) external view returns (bool);
    function hasDelivered(uint256 beaconId, address agent) external view returns (bool);
    /// @notice What `requester`'s tasks saw of `agent`: final answers that won an agreed vote (`good`); final
    ///         answers refuted or never revealed, and deadlines missed (`bad`). A bid on the requester's task
    ///         scores the ledger's score · (good + 2) / (good + bad + 2) (docs/protocol.md "Requester's view").
    function experienceOf(address requester, address agent) external view returns (uint32 good, uint32 bad);
    /// @notice Lowest bid score (WAD) among the executors who delivered on the chain: Symphony's w_i.
    function chainWeight(uint256 chainId) external view returns (uint256);
    function expectedVoters(bytes32 taskId) external view returns (uint256);
    function taskRequester(bytes32 taskId) external view returns (address);
    function kindOf(uint256 beaconId) external view returns (bytes32);
    function credits(address account) external view returns (uint256);
    function maxPayloadBytes() external view returns (uint256);
    function minEvidenceReward() external view returns (uint256);
    function burnedFees() external view returns (uint256);
    function vote() external view returns (address);
}
