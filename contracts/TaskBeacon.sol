// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ITaskBeacon} from "./interfaces/ITaskBeacon.sol";
import {ICapabilityLedger} from "./interfaces/ICapabilityLedger.sol";
import {ReentrancyLock} from "./lib/ReentrancyLock.sol";
import {CapabilityMath} from "./lib/CapabilityMath.sol";

/// @title TaskBeacon
/// @notice Subtask beacons (docs/protocol.md): agents bid, the contract scores each bid from the ledger's stored
///         vectors, the top-k are assigned, results are posted and paid, missed deadlines are penalised.
/// @dev Gas layout, since every agent step is one of these calls:
///      - a beacon is 5 storage slots; payload bytes live in the BeaconPosted event, only their hash is stored;
///      - a bid is ONE slot (agent, score, state) reused for assignment and delivery, so `close` only flips
///        state bytes instead of writing an executor list; "already bid?" is a scan over ≤ 32 bid slots;
///      - rewards are pushed to the executor in submitResult (CEI + transient reentrancy lock).
///      A recipient that rejects ETH makes its own call revert with TransferFailed (an executor that cannot be
///      paid cannot deliver and will be timed out; a requester that rejects refunds blocks close/reclaim of its
///      own beacons only).
contract TaskBeacon is ITaskBeacon, ReentrancyLock {
    /// @notice Most executors one beacon may ask for.
    uint8 public constant MAX_EXECUTORS = 8;
    /// @notice Most bids one beacon accepts.
    uint256 public constant MAX_BIDS = 32;
    /// @notice Reputation change (WAD) of an executor that misses its deadline.
    int256 public constant TIMEOUT_PENALTY = -0.1e18;

    uint8 internal constant BIDDER = 0;
    uint8 internal constant ASSIGNED = 1; // stays ASSIGNED after delivery: resultHashOf != 0 marks delivery
    uint8 internal constant TIMED_OUT = 3;

    struct Beacon {
        address requester; // slot 0
        uint64 bidDeadline;
        uint32 execWindow;
        bytes32 taskId; // slot 1
        bytes32 requirement; // slot 2
        bytes32 payloadHash; // slot 3
        uint96 reward; // slot 4: escrow still held
        uint40 execDeadline;
        uint16 cotIndex;
        uint16 stepIndex;
        uint8 executors; // k requested
        uint8 slots; // live executor slots after close (min(k, bids) minus refunded slots)
        uint8 delivered;
        uint8 bidCount;
        Status status;
        bool reputationWeighted;
        bool isFinal;
        uint32 requirementNorm; // isqrt(Σ r_i² · 1e12) ≤ 7.2e8, computed once here instead of once per bid
    }

    struct BidSlot {
        address agent;
        uint64 score;
        uint8 state; // BIDDER / ASSIGNED / TIMED_OUT
    }

    /// @dev One slot per task: only its requester may post beacons for it, so nobody can join a task's vote by
    ///      posting a final beacon of their own under someone else's task id.
    struct TaskOwner {
        address requester;
        uint16 declaredVoters;
    }

    struct ChainSum {
        uint128 scoreSum;
        uint64 count;
    }

    /// @notice The agent registry bids are scored against.
    ICapabilityLedger public immutable ledger;
    /// @inheritdoc ITaskBeacon
    uint256 public immutable maxPayloadBytes;
    /// @dev beaconCount + 1: starting the slot at 1 spares the first postBeacon a zero-to-nonzero write.
    uint256 private _beaconCountPlusOne = 1;
    /// @inheritdoc ITaskBeacon
    mapping(uint256 => mapping(address => bytes32)) public resultHashOf;
    /// @inheritdoc ITaskBeacon
    mapping(bytes32 => uint256) public finalExecutorCount;
    /// @dev Who owns each task id (bound by its first beacon or openTask) and how many voters it declared.
    mapping(bytes32 => TaskOwner) internal _tasks;

    mapping(uint256 => Beacon) internal _beacons;
    mapping(uint256 => mapping(uint256 => BidSlot)) internal _bids;
    mapping(bytes32 => mapping(uint16 => ChainSum)) internal _chains;

    /// @param ledger_ CapabilityLedger (must later authorise this contract for adjustReputation)
    /// @param maxPayloadBytes_ longest payload / result accepted, e.g. 8192
    constructor(address ledger_, uint256 maxPayloadBytes_) {
        ledger = ICapabilityLedger(ledger_);
        maxPayloadBytes = maxPayloadBytes_;
    }

    // ------------------------------------------------------------------ requester

    /// @notice Post a subtask; msg.value is escrowed and split equally among the executors who deliver.
    /// @dev Beacon ids start at 0. Bids are accepted while block.timestamp ≤ now + bidWindow.
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
    ) external payable returns (uint256 beaconId) {
        if (payload.length > maxPayloadBytes) revert PayloadTooLarge(payload.length, maxPayloadBytes);
        if (executors == 0 || executors > MAX_EXECUTORS) revert InvalidExecutors(executors);
        if (bidWindow == 0 || execWindow == 0) revert InvalidWindow();
        if (msg.value > type(uint96).max) revert RewardTooLarge(msg.value);
        _claimTask(taskId);
        unchecked {
            // cannot under/overflow: the counter starts at 1 and grows by one per beacon (2^256 posts are out of reach)
            beaconId = _beaconCountPlusOne - 1;
            _beaconCountPlusOne = beaconId + 2;
        }
        uint64 bidDeadline = uint64(block.timestamp) + bidWindow;
        Beacon storage b = _beacons[beaconId];
        b.requester = msg.sender;
        b.bidDeadline = bidDeadline;
        b.execWindow = execWindow;
        b.taskId = taskId;
        b.requirement = requirement;
        b.payloadHash = keccak256(payload);
        b.reward = uint96(msg.value);
        b.cotIndex = cotIndex;
        b.stepIndex = stepIndex;
        b.executors = executors;
        b.status = Status.Bidding;
        b.reputationWeighted = reputationWeighted;
        b.isFinal = isFinal;
        b.requirementNorm = uint32(CapabilityMath.norm(requirement));
        _emitPosted(beaconId, b, payload);
    }

    /// @notice Declare how many chains of thought (final voters) a task will have, before its chains finish.
    /// @dev Without it, VoteCommitment only knows the final slots closed so far, so a fast chain could start the
    ///      reveal phase before a slow chain's final beacon even exists. Binds the task to the caller.
    function openTask(bytes32 taskId, uint16 expectedVoters) external {
        _claimTask(taskId);
        _tasks[taskId].declaredVoters = expectedVoters;
        emit TaskOpened(taskId, msg.sender, expectedVoters);
    }

    /// @notice The requester that owns `taskId` (zero if no beacon was posted for it yet).
    function taskRequester(bytes32 taskId) external view returns (address) {
        return _tasks[taskId].requester;
    }

    /// @notice Voters the task expects: the declared count, or the final slots closed so far if that is larger.
    function expectedVoters(bytes32 taskId) public view returns (uint256) {
        uint256 declared = _tasks[taskId].declaredVoters;
        uint256 finals = finalExecutorCount[taskId];
        return declared > finals ? declared : finals;
    }

    // ------------------------------------------------------------------ agents

    /// @notice Bid on a beacon in its bid window. The score is computed here from the ledger's stored vector.
    function bid(uint256 beaconId) external {
        Beacon storage b = _beacons[beaconId];
        _requireStatus(beaconId, b.status, Status.Bidding);
        if (block.timestamp > b.bidDeadline) revert BiddingClosed(beaconId);
        uint256 n = b.bidCount;
        if (n >= MAX_BIDS) revert TooManyBids(beaconId);
        mapping(uint256 => BidSlot) storage bids = _bids[beaconId];
        for (uint256 i; i < n; ++i) {
            if (bids[i].agent == msg.sender) revert AlreadyBid(beaconId, msg.sender);
        }
        (bool available, uint64 score) = ledger.bidScore(msg.sender, b.requirement, b.requirementNorm, b.reputationWeighted);
        if (!available) revert AgentNotAvailable(msg.sender);
        bids[n] = BidSlot({agent: msg.sender, score: score, state: BIDDER});
        unchecked {
            // cannot overflow: n < MAX_BIDS (32) was checked above, so n + 1 fits uint8
            b.bidCount = uint8(n + 1);
        }
        emit BidPlaced(beaconId, msg.sender, score);
    }

    /// @notice After the bid window: assign the top-k bids (score desc, earlier bid wins ties). No bids: the beacon
    ///         is Unfilled and the reward refunded; fewer bids than k: every bidder is assigned and the unfilled
    ///         slots' share is refunded.
    function close(uint256 beaconId) external nonReentrant {
        Beacon storage b = _beacons[beaconId];
        _requireStatus(beaconId, b.status, Status.Bidding);
        if (block.timestamp <= b.bidDeadline) revert BiddingOpen(beaconId);
        uint256 n = b.bidCount;
        uint256 refund;
        if (n == 0) {
            refund = b.reward;
            b.reward = 0;
            b.status = Status.Unfilled;
            emit BeaconUnfilled(beaconId, refund);
        } else {
            (address[] memory agents, uint64[] memory scores, uint8[] memory states) = _loadBids(beaconId, n);
            uint256 k = b.executors;
            if (k > n) k = n;
            uint40 deadline = uint40(block.timestamp) + b.execWindow;
            bytes32 taskId = b.taskId;
            mapping(uint256 => BidSlot) storage bids = _bids[beaconId];
            for (uint256 s; s < k; ++s) {
                uint256 j = _best(scores, states);
                states[j] = ASSIGNED;
                bids[j].state = ASSIGNED;
                emit ExecutorAssigned(beaconId, agents[j], taskId, scores[j], deadline);
            }
            uint256 requested = b.executors;
            if (k < requested) {
                refund = (uint256(b.reward) * (requested - k)) / requested;
                b.reward -= uint96(refund);
                emit RewardRefunded(beaconId, b.requester, refund);
            }
            b.slots = uint8(k);
            b.execDeadline = deadline;
            b.status = Status.Assigned;
            if (b.isFinal) finalExecutorCount[taskId] += k;
        }
        if (refund != 0) _send(b.requester, refund);
    }

    /// @notice Deliver a result as an assigned executor before the deadline; pays this executor's share.
    /// @dev The result bytes travel in ResultSubmitted; only keccak256(result) is stored.
    function submitResult(uint256 beaconId, bytes calldata result) external nonReentrant {
        if (result.length > maxPayloadBytes) revert PayloadTooLarge(result.length, maxPayloadBytes);
        Beacon storage b = _beacons[beaconId];
        _requireStatus(beaconId, b.status, Status.Assigned);
        if (block.timestamp > b.execDeadline) revert DeadlinePassed(beaconId);
        {
            BidSlot storage slot = _findBid(beaconId, b.bidCount, msg.sender);
            if (slot.state != ASSIGNED) revert NotAssigned(beaconId, msg.sender);
            // Delivery is recorded by the result hash alone (no second write to the bid slot).
            if (resultHashOf[beaconId][msg.sender] != bytes32(0)) revert AlreadySubmitted(beaconId, msg.sender);
            ChainSum storage c = _chains[b.taskId][b.cotIndex];
            unchecked {
                // cannot overflow: one add per delivery tx (2^64 txs are out of reach), score <= 2e18 < 2^61
                c.scoreSum += slot.score;
                c.count += 1;
            }
        }
        bytes32 resultHash = keccak256(result); // never 0 in practice
        resultHashOf[beaconId][msg.sender] = resultHash;
        emit ResultSubmitted(beaconId, msg.sender, b.taskId, resultHash, result);

        uint96 amount = _settleDelivery(beaconId, b);
        if (amount != 0) _send(msg.sender, amount);
    }

    /// @notice After the exec deadline: every executor that did not deliver is timed out and penalised; its slot
    ///         goes to the best never-assigned bidder (new deadline) or its share is refunded to the requester.
    function reclaimExpired(uint256 beaconId) external nonReentrant {
        Beacon storage b = _beacons[beaconId];
        _requireStatus(beaconId, b.status, Status.Assigned);
        if (block.timestamp <= b.execDeadline) revert DeadlineNotPassed(beaconId);
        uint256 n = b.bidCount;
        (address[] memory agents, uint64[] memory scores, uint8[] memory states) = _loadBids(beaconId, n);
        mapping(uint256 => BidSlot) storage bids = _bids[beaconId];

        // Pass 1: time out (marking first so a replacement is never timed out in the same call).
        address[] memory penalised = new address[](MAX_EXECUTORS);
        uint256 timedOut;
        mapping(address => bytes32) storage results = resultHashOf[beaconId];
        for (uint256 i; i < n; ++i) {
            if (states[i] != ASSIGNED || results[agents[i]] != bytes32(0)) continue;
            states[i] = TIMED_OUT;
            bids[i].state = TIMED_OUT;
            penalised[timedOut++] = agents[i];
            emit ExecutorTimedOut(beaconId, agents[i]);
        }

        uint256 refund = _refill(beaconId, b, agents, scores, states, timedOut);

        // Interactions: the trusted ledger first, then the (untrusted) requester refund.
        for (uint256 t; t < timedOut; ++t) {
            ledger.adjustReputation(penalised[t], TIMEOUT_PENALTY);
        }
        if (refund != 0) _send(b.requester, refund);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc ITaskBeacon
    function beaconCount() external view returns (uint256) {
        return _beaconCountPlusOne - 1;
    }

    /// @inheritdoc ITaskBeacon
    function getBeacon(uint256 beaconId) external view returns (BeaconInfo memory info) {
        Beacon storage b = _beacons[beaconId];
        if (b.status == Status.None) revert UnknownBeacon(beaconId);
        info.taskId = b.taskId;
        info.cotIndex = b.cotIndex;
        info.stepIndex = b.stepIndex;
        info.executors = b.executors;
        info.reputationWeighted = b.reputationWeighted;
        info.isFinal = b.isFinal;
        info.status = b.status;
        info.requester = b.requester;
        info.requirement = b.requirement;
        info.payloadHash = b.payloadHash;
        info.bidDeadline = b.bidDeadline;
        info.execDeadline = b.execDeadline;
        info.execWindow = b.execWindow;
        info.reward = b.reward;
        info.delivered = b.delivered;
    }

    /// @inheritdoc ITaskBeacon
    function getBids(uint256 beaconId) external view returns (Bid[] memory out) {
        uint256 n = _beacons[beaconId].bidCount;
        out = new Bid[](n);
        for (uint256 i; i < n; ++i) {
            BidSlot storage s = _bids[beaconId][i];
            out[i] = Bid({agent: s.agent, score: s.score});
        }
    }

    /// @inheritdoc ITaskBeacon
    /// @dev Current executors in bid order: assigned or delivered (timed-out executors are dropped).
    function executorsOf(uint256 beaconId) external view returns (address[] memory out) {
        uint256 n = _beacons[beaconId].bidCount;
        address[] memory tmp = new address[](n);
        uint256 m;
        for (uint256 i; i < n; ++i) {
            BidSlot storage s = _bids[beaconId][i];
            if (s.state == ASSIGNED) tmp[m++] = s.agent;
        }
        out = new address[](m);
        for (uint256 i; i < m; ++i) {
            out[i] = tmp[i];
        }
    }

    /// @inheritdoc ITaskBeacon
    function isExecutor(uint256 beaconId, address agent) public view returns (bool) {
        uint256 n = _beacons[beaconId].bidCount;
        for (uint256 i; i < n; ++i) {
            BidSlot storage s = _bids[beaconId][i];
            if (s.agent == agent) return s.state == ASSIGNED;
        }
        return false;
    }

    /// @inheritdoc ITaskBeacon
    function chainWeight(bytes32 taskId, uint16 cotIndex) external view returns (uint256) {
        ChainSum storage c = _chains[taskId][cotIndex];
        return c.count == 0 ? 0 : uint256(c.scoreSum) / c.count;
    }

    /// @inheritdoc ITaskBeacon
    function voteContext(uint256 beaconId, address voter)
        external
        view
        returns (bytes32 taskId, uint16 cotIndex, bool isFinal, bytes32 resultHash, uint256 finalExecutors)
    {
        Beacon storage b = _beacons[beaconId];
        if (b.status == Status.None) revert UnknownBeacon(beaconId);
        taskId = b.taskId;
        cotIndex = b.cotIndex;
        isFinal = b.isFinal;
        resultHash = resultHashOf[beaconId][voter];
        finalExecutors = expectedVoters(taskId);
    }

    // ------------------------------------------------------------------ internals

    function _claimTask(bytes32 taskId) private {
        TaskOwner storage t = _tasks[taskId];
        address owner = t.requester;
        if (owner == address(0)) t.requester = msg.sender;
        else if (owner != msg.sender) revert NotTaskRequester(taskId, msg.sender);
    }

    function _requireStatus(uint256 beaconId, Status actual, Status expected) private pure {
        if (actual == expected) return;
        if (actual == Status.None) revert UnknownBeacon(beaconId);
        revert WrongStatus(beaconId, actual);
    }

    /// @dev Bid slot of `agent`; reverts NotAssigned if it never bid.
    function _findBid(uint256 beaconId, uint256 n, address agent) private view returns (BidSlot storage) {
        mapping(uint256 => BidSlot) storage bids = _bids[beaconId];
        for (uint256 i; i < n; ++i) {
            if (bids[i].agent == agent) return bids[i];
        }
        revert NotAssigned(beaconId, agent);
    }

    function _loadBids(uint256 beaconId, uint256 n)
        private
        view
        returns (address[] memory agents, uint64[] memory scores, uint8[] memory states)
    {
        agents = new address[](n);
        scores = new uint64[](n);
        states = new uint8[](n);
        mapping(uint256 => BidSlot) storage bids = _bids[beaconId];
        for (uint256 i; i < n; ++i) {
            BidSlot storage s = bids[i];
            (agents[i], scores[i], states[i]) = (s.agent, s.score, s.state);
        }
    }

    /// @dev Index of the highest-scoring never-assigned bid (earliest wins ties), or type(uint256).max if none.
    function _best(uint64[] memory scores, uint8[] memory states) private pure returns (uint256 best) {
        best = type(uint256).max;
        uint64 bestScore;
        for (uint256 i; i < scores.length; ++i) {
            if (states[i] != BIDDER) continue;
            if (best == type(uint256).max || scores[i] > bestScore) {
                best = i;
                bestScore = scores[i];
            }
        }
    }

    /// @dev Pays out one slot's share (the last outstanding slot takes the rounding dust) and completes the
    ///      beacon when every live slot has delivered. Returns the amount to send to the executor.
    function _settleDelivery(uint256 beaconId, Beacon storage b) private returns (uint96 amount) {
        uint256 slots = b.slots;
        uint256 delivered = b.delivered;
        amount = b.reward / uint96(slots - delivered);
        b.reward -= amount;
        unchecked {
            // cannot overflow: delivered < slots <= MAX_EXECUTORS (8), else `slots - delivered` above reverted
            ++delivered;
        }
        b.delivered = uint8(delivered);
        if (delivered == slots) {
            b.status = Status.Completed;
            emit BeaconCompleted(beaconId, b.taskId);
        }
    }

    /// @dev Pass 2 of reclaimExpired: give each of the `freed` slots to the best remaining bidder or refund its
    ///      share, then settle slots / deadline / status. Returns the total refund owed to the requester.
    function _refill(
        uint256 beaconId,
        Beacon storage b,
        address[] memory agents,
        uint64[] memory scores,
        uint8[] memory states,
        uint256 freed
    ) private returns (uint256 refund) {
        uint40 deadline = uint40(block.timestamp) + b.execWindow;
        uint256 slots = b.slots;
        bool replaced;
        for (uint256 t; t < freed; ++t) {
            if (_assignBest(beaconId, b.taskId, agents, scores, states, deadline)) {
                replaced = true;
            } else {
                uint96 share = b.reward / uint96(slots - b.delivered);
                b.reward -= share;
                refund += share;
                --slots;
                emit RewardRefunded(beaconId, b.requester, share);
            }
        }
        if (b.isFinal && slots != b.slots) finalExecutorCount[b.taskId] -= b.slots - slots;
        b.slots = uint8(slots);
        if (replaced) b.execDeadline = deadline;
        if (slots == b.delivered) {
            if (slots == 0) {
                b.status = Status.Unfilled;
                emit BeaconUnfilled(beaconId, refund);
            } else {
                b.status = Status.Completed;
                emit BeaconCompleted(beaconId, b.taskId);
            }
        }
    }

    /// @dev Assigns the best never-assigned bidder, if any is left.
    function _assignBest(
        uint256 beaconId,
        bytes32 taskId,
        address[] memory agents,
        uint64[] memory scores,
        uint8[] memory states,
        uint40 deadline
    ) private returns (bool) {
        uint256 j = _best(scores, states);
        if (j == type(uint256).max) return false;
        states[j] = ASSIGNED;
        _bids[beaconId][j].state = ASSIGNED;
        emit ExecutorAssigned(beaconId, agents[j], taskId, scores[j], deadline);
        return true;
    }

    function _send(address to, uint256 amount) private {
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert TransferFailed();
    }

    /// @dev Separate frame so postBeacon stays under the legacy 16-slot stack limit.
    function _emitPosted(uint256 beaconId, Beacon storage b, bytes calldata payload) private {
        emit BeaconPosted(
            beaconId,
            b.taskId,
            msg.sender,
            b.cotIndex,
            b.stepIndex,
            b.requirement,
            payload,
            b.bidDeadline,
            b.executors,
            b.reward,
            b.isFinal
        );
    }
}
