// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ITaskBeacon} from "./interfaces/ITaskBeacon.sol";
import {ICapabilityLedger} from "./interfaces/ICapabilityLedger.sol";
import {IVoteCommitment} from "./interfaces/IVoteCommitment.sol";
import {ReentrancyLock} from "./lib/ReentrancyLock.sol";
import {CapabilityMath} from "./lib/CapabilityMath.sol";

/// @title TaskBeacon
/// @notice Tasks of K chains of subtask beacons (docs/protocol.md): one `postTask` posts every chain; agents bid on
///         each step, the contract scores bids (declared match × verified record, from the ledger), assigns the
///         top-k step by step (capacity is reserved on the ledger; an agent works in one chain per task), pays
///         non-empty results, takes final steps' results as vote commitments, and settles the task from its
///         vote: evidence, slashes, refunds.
/// @dev Gas layout, since every agent step is one of these calls:
///      - a task is one slot, a chain two (header, requirements hash); a step's state is one slot written by its
///        first bidder (or its close), so posting K chains of n steps costs the requester 1 + 2K slots, not K·n;
///      - requirement vectors live in the ChainPosted event; a bidder passes its chain's vectors back and the
///        contract checks them against the stored hash;
///      - a bid is 64 bits (local agent id, score in 1e-9 units, newcomer bit), four per slot; assignment,
///        delivery, timeout and payment are 16-bit masks in the step slot;
///      - step i+1 is assigned inside step i's first delivery once its bid window is over, so a chain needs one
///        close (its first step) from the requester.
///      Every ETH transfer goes to msg.sender (executor pay) or is credited (refunds: `withdrawCredit`), so no
///      third party can make another party's call revert. Every ledger hook is wrapped in try/catch: a
///      misconfigured ledger can stall evidence and capacity, never escrow.
contract TaskBeacon is ITaskBeacon, ReentrancyLock {
    /// @notice Most executors one step may ask for.
    uint8 public constant MAX_EXECUTORS = 8;
    /// @notice Most bids one step's book holds; a better bid displaces the lowest once it is full.
    uint256 public constant MAX_BIDS = 16;
    /// @notice Most steps per chain (beacon id = chainId · 8 + step).
    uint256 public constant MAX_STEPS = 8;
    /// @notice Most chains per task.
    uint256 public constant MAX_CHAINS = 16;
    /// @notice Most final slots (voters) per task.
    uint256 public constant MAX_VOTERS = 16;
    /// @notice Longest bid window; CapabilityLedger.PROFILE_DELAY (1 h) is longer.
    uint32 public constant MAX_BID_WINDOW = 30 minutes;
    /// @notice Reassignment rounds per step after timeouts; later timeouts refund the slot.
    uint8 public constant MAX_ROUNDS = 3;
    /// @notice One step in EXPLORE_ONE_IN gives its first slot to the best newcomer bidder (bounded exploration).
    uint256 public constant EXPLORE_ONE_IN = 32;
    /// @notice Posting fee on top of the escrow (basis points of it), burned: every slot of evidence costs its
    ///        farmer this much, and no party receives it.
    uint256 public constant FEE_BPS = 1000;
    /// @notice Reputation change (WAD) of an executor that misses its deadline or never reveals its vote.
    int256 public constant TIMEOUT_PENALTY = -0.1e18;

    uint256 internal constant SCORE_UNIT = 1e9; // bids store score / 1e9 (≤ 1e9 < 2^31)
    uint256 internal constant NONE = type(uint256).max;

    /// @dev One requester's own record of one agent: final answers of its tasks that won an agreed vote (`good`);
    ///      final answers refuted or never revealed, and its deadlines missed (`bad`). Abstentions are neither.
    struct Experience {
        uint32 good;
        uint32 bad;
    }

    struct Task {
        address requester;
        uint32 firstChain;
        uint8 chains;
        uint8 finalSlots; // live final slots: the voters the vote waits for
        bool settled;
        bool hasKind;
        bool cancelled;
    }

    struct Chain {
        uint32 task;
        uint8 cotIndex;
        uint8 steps;
        uint8 executors;
        uint32 execWindow;
        uint40 bidDeadline;
        uint96 rewardPerExecutor;
    }

    /// @dev Zero until the step's first bid or close (status None then reads as Bidding until the chain's deadline).
    struct Step {
        Status status;
        uint8 bidCount;
        uint8 slots;
        uint8 delivered;
        uint8 rounds;
        uint8 cluster; // derived kind cluster + 1 (0: not computed yet)
        uint8 minPos; // position of the lowest bid in the book
        uint16 assigned; // positions ever assigned
        uint16 done; // positions that delivered
        uint16 failed; // positions that timed out
        uint40 bidDeadline;
        uint40 execDeadline;
    }

    /// @dev A close's working set, kept in memory so the legacy pipeline stays under 16 stack slots.
    struct Book {
        uint32[] ids;
        uint32[] scores;
        bool[] newcomer;
        uint256 tried; // positions already considered
    }

    struct Counters {
        uint32 tasks;
        uint32 chains;
        uint32 agents;
    }

    /// @notice The agent registry: scores, capacity, evidence and stake.
    ICapabilityLedger public immutable ledger;
    /// @inheritdoc ITaskBeacon
    uint256 public immutable maxPayloadBytes;
    /// @inheritdoc ITaskBeacon
    uint256 public immutable minEvidenceReward;
    /// @notice May bind the vote contract, once.
    address public immutable deployer;
    /// @notice The ledger's slashUnit (minStake / 10, fixed at its deployment), read once here.
    uint256 public immutable slashUnit;
    /// @inheritdoc ITaskBeacon
    address public vote;
    /// @inheritdoc ITaskBeacon
    uint256 public burnedFees;
    /// @inheritdoc ITaskBeacon
    mapping(address => uint256) public credits;

    Counters internal _counters;
    mapping(uint256 => Task) internal _tasks;
    mapping(uint256 => bytes32) internal _kinds;
    mapping(uint256 => Chain) internal _chains;
    mapping(uint256 => bytes32) internal _requirements; // chainId => keccak256(abi.encodePacked(requirements))
    mapping(uint256 => Step) internal _steps;
    mapping(uint256 => mapping(uint256 => uint256)) internal _book; // beaconId => word => 4 bids
    /// @dev task => agent id => the chain (cotIndex + 1) it works in; an agent works in one chain per task.
    mapping(uint256 => mapping(uint32 => uint8)) internal _chainOfAgent;
    mapping(address => uint32) internal _idOf;
    mapping(uint32 => address) internal _agentOf;
    /// @dev requester => agent id => what that requester's tasks saw of the agent (see `_requesterView`).
    mapping(address => mapping(uint32 => Experience)) internal _experience;

    /// @param ledger_ CapabilityLedger (must authorise this contract)
    /// @param maxPayloadBytes_ longest payload / result accepted, e.g. 8192
    /// @param minEvidenceReward_ smallest reward per executor (wei) whose successes count as evidence
    constructor(address ledger_, uint256 maxPayloadBytes_, uint256 minEvidenceReward_) {
        ledger = ICapabilityLedger(ledger_);
        maxPayloadBytes = maxPayloadBytes_;
        minEvidenceReward = minEvidenceReward_;
        deployer = msg.sender;
        slashUnit = ICapabilityLedger(ledger_).slashUnit();
    }

    modifier onlyVote() {
        if (msg.sender != vote) revert NotVoteContract(msg.sender);
        _;
    }

    /// @notice Bind the VoteCommitment that commits final deliveries and settles tasks. Deployer only, once.
    function bindVote(address vote_) external {
        if (msg.sender != deployer) revert NotRequester(msg.sender);
        if (vote != address(0) || vote_ == address(0)) revert AlreadyBound();
        vote = vote_;
        emit VoteBound(vote_);
    }

    // ------------------------------------------------------------------ requester

    /// @notice Post a task: every chain with all its steps (the last is final), one bid window for all of them.
    ///         msg.value = escrow + fee, escrow = rewardPerExecutor · executors · total steps, fee = escrow · 10 %
    ///         (burned). Task ids are assigned here.
    function postTask(TaskSpec calldata spec, ChainSpec[] calldata chains)
        external
        payable
        returns (bytes32 taskId)
    {
        _takeEscrow(uint256(spec.rewardPerExecutor) * spec.executors * _checkTask(spec, chains));
        uint256 n = chains.length;
        Counters memory counters = _counters;
        uint32 number = counters.tasks + 1;
        uint32 firstChain = counters.chains + 1;
        _counters = Counters(number, counters.chains + uint32(n), counters.agents);
        taskId = bytes32(uint256(number));
        _tasks[number] = Task({
            requester: msg.sender,
            firstChain: firstChain,
            chains: uint8(n),
            finalSlots: uint8(n * spec.executors),
            settled: false,
            hasKind: spec.kind != bytes32(0),
            cancelled: false
        });
        if (spec.kind != bytes32(0)) _kinds[number] = spec.kind;
        uint40 bidDeadline = uint40(block.timestamp + spec.bidWindow);
        for (uint256 i; i < n; ++i) {
            _storeChain(number, firstChain + i, i, chains[i], spec, bidDeadline);
        }
        _emitTask(taskId, firstChain, n, spec);
    }

    function _emitTask(bytes32 taskId, uint32 firstChain, uint256 n, TaskSpec calldata spec) private {
        emit TaskPosted(taskId, msg.sender, firstChain, uint8(n), spec.executors, spec.execWindow, spec.rewardPerExecutor, spec.kind);
    }

    /// @dev msg.value must be `escrow` plus the FEE_BPS posting fee, which is burned (stays here for ever).
    function _takeEscrow(uint256 escrow) private {
        uint256 fee = (escrow * FEE_BPS) / 10_000;
        if (msg.value != escrow + fee) revert WrongValue(msg.value, escrow + fee);
        if (fee != 0) burnedFees += fee;
    }

    /// @dev Validates a task and returns its total number of steps.
    function _checkTask(TaskSpec calldata spec, ChainSpec[] calldata chains) private view returns (uint256 totalSteps) {
        uint256 k = spec.executors;
        if (k == 0 || k > MAX_EXECUTORS) revert InvalidExecutors(spec.executors);
        if (spec.bidWindow == 0 || spec.bidWindow > MAX_BID_WINDOW || spec.execWindow == 0) revert InvalidWindow();
        uint256 n = chains.length;
        if (n == 0 || n > MAX_CHAINS) revert InvalidChains(n);
        if (n * k > MAX_VOTERS) revert TooManyVoters(n * k);
        for (uint256 i; i < n; ++i) {
            uint256 steps = chains[i].requirements.length;
            if (steps == 0 || steps > MAX_STEPS) revert InvalidSteps(steps);
            uint256 len = chains[i].payload.length;
            if (len > maxPayloadBytes) revert PayloadTooLarge(len, maxPayloadBytes);
            totalSteps += steps;
        }
        if (_counters.chains + n >= 1 << 28) revert InvalidChains(n); // beacon ids must fit 32 bits
    }

    function _storeChain(
        uint32 number,
        uint256 chainId,
        uint256 cot,
        ChainSpec calldata c,
        TaskSpec calldata spec,
        uint40 bidDeadline
    ) private {
        _chains[chainId] = Chain({
            task: number,
            cotIndex: uint8(cot),
            steps: uint8(c.requirements.length),
            executors: spec.executors,
            execWindow: spec.execWindow,
            bidDeadline: bidDeadline,
            rewardPerExecutor: spec.rewardPerExecutor
        });
        _requirements[chainId] = keccak256(abi.encodePacked(c.requirements));
        emit ChainPosted(bytes32(uint256(number)), chainId, uint8(cot), c.requirements, c.payload, bidDeadline);
    }

    /// @notice Re-open an Unfilled step with a new bid window (requester only; re-escrow reward · k plus the fee).
    function reopen(uint256 beaconId, uint32 bidWindow) external payable {
        (Chain storage c, Step storage st, uint256 step) = _load(beaconId);
        Task storage t = _tasks[c.task];
        if (msg.sender != t.requester) revert NotRequester(msg.sender);
        if (t.cancelled) revert TaskIsCancelled(bytes32(uint256(c.task)));
        if (st.status != Status.Unfilled) revert WrongStatus(beaconId, _status(st, c));
        if (bidWindow == 0 || bidWindow > MAX_BID_WINDOW) revert InvalidWindow();
        _takeEscrow(uint256(c.rewardPerExecutor) * c.executors);
        if (step + 1 == c.steps) {
            uint256 slots = uint256(t.finalSlots) + c.executors;
            if (slots > MAX_VOTERS) revert TooManyVoters(slots);
            t.finalSlots = uint8(slots);
        }
        uint40 deadline = uint40(block.timestamp + bidWindow);
        _steps[beaconId] = Step({
            status: Status.Bidding,
            bidCount: 0,
            slots: 0,
            delivered: 0,
            rounds: 0,
            cluster: st.cluster,
            minPos: 0,
            assigned: 0,
            done: 0,
            failed: 0,
            bidDeadline: deadline,
            execDeadline: 0
        });
        emit BeaconReopened(beaconId, deadline);
    }

    /// @notice Cancel an unsettled task (requester only, once): every step not yet assigned becomes Unfilled with its escrow
    ///         credited back, and nothing of the task can be re-opened or re-assigned after a timeout. Assigned
    ///         steps stay as they are: their executors may still deliver and are paid, or are reclaimed after
    ///         their deadline (the share credited back); the vote counts the final slots still live.
    /// @dev Why this cannot cheat an agent: pay is made at delivery, and an assigned slot keeps its deadline. What
    ///      the requester can do is what it already could (not re-open a step): choosing which final steps stay
    ///      live cannot farm evidence, since successes need two voters agreeing on the winner on a paid chain.
    ///      Bounded: at most MAX_CHAINS · MAX_STEPS steps.
    function cancelTask(bytes32 taskId) external nonReentrant {
        uint256 number = _taskNumber(taskId);
        Task storage t = _tasks[number];
        if (msg.sender != t.requester) revert NotRequester(msg.sender);
        if (t.cancelled) revert TaskIsCancelled(taskId);
        if (t.settled) revert AlreadySettled(taskId);
        t.cancelled = true;
        uint256 unfilled;
        uint256 assigned;
        uint256 first = t.firstChain;
        for (uint256 i; i < t.chains; ++i) {
            Chain storage c = _chains[first + i];
            for (uint256 step; step < c.steps; ++step) {
                uint256 beaconId = ((first + i) << 3) | step;
                Step storage st = _steps[beaconId];
                Status status = _status(st, c);
                if (status == Status.Bidding) {
                    _unfill(beaconId, c, st, step);
                    ++unfilled;
                } else if (status == Status.Assigned) {
                    ++assigned;
                }
            }
        }
        emit TaskCancelled(taskId, unfilled, assigned);
    }

    /// @notice Withdraw refunds credited to msg.sender.
    function withdrawCredit() external nonReentrant {
        uint256 amount = credits[msg.sender];
        if (amount == 0) revert NothingToWithdraw();
        credits[msg.sender] = 0;
        emit CreditWithdrawn(msg.sender, amount);
        _send(msg.sender, amount);
    }

    // ------------------------------------------------------------------ agents

    /// @notice Bid on a step in its bid window, passing the chain's requirement vectors (from ChainPosted). The
    ///         score is computed by the ledger from stored vectors and verified evidence. A full book takes the
    ///         bid only if it beats the lowest one, which it displaces.
    function bid(uint256 beaconId, bytes32[] calldata requirements) external {
        (Chain storage c, Step storage st, uint256 step) = _load(beaconId);
        if (keccak256(abi.encodePacked(requirements)) != _requirements[beaconId >> 3]) revert RequirementsMismatch(beaconId);
        Status status = _status(st, c);
        if (status != Status.Bidding) revert WrongStatus(beaconId, status);
        if (block.timestamp > _bidDeadline(st, c)) revert BiddingClosed(beaconId);
        Task storage t = _tasks[c.task];
        if (msg.sender == t.requester) revert RequesterCannotBid(beaconId);
        uint8 cluster = st.cluster;
        if (cluster == 0) cluster = _cluster(requirements[step]) + 1;
        (bool eligible, uint64 score, bool newcomer) =
            ledger.bidScore(msg.sender, requirements[step], _kind(c.task, t.hasKind, cluster));
        if (!eligible) revert AgentNotAvailable(msg.sender);
        uint32 id = _ensureId(msg.sender);
        score = _requesterView(t.requester, id, score);
        uint256 entry = _entry(id, uint32(score / SCORE_UNIT), newcomer);
        address displaced = _insert(beaconId, st, entry);
        if (st.status == Status.None) {
            st.status = Status.Bidding;
            st.bidDeadline = c.bidDeadline;
        }
        st.cluster = cluster;
        emit BidPlaced(beaconId, msg.sender, uint64(_scoreOf(entry) * SCORE_UNIT), newcomer, displaced);
    }

    /// @notice After the bid window (and, for step i > 0, once step i − 1 delivered): assign the top-k bidders that
    ///         can take the work (score desc, ties by a hash of beacon and agent; one exploration step in 32 gives
    ///         its first slot to the best newcomer; a final step skips agents already voting in the task), each
    ///         taking one unit of ledger capacity. Nobody assignable: Unfilled, escrow credited back. If step
    ///         i − 1 is Unfilled, the requester (or anyone one exec window after its bid deadline) may close
    ///         step i as Unfilled too.
    function close(uint256 beaconId) external nonReentrant {
        (Chain storage c, Step storage st, uint256 step) = _load(beaconId);
        Status status = _status(st, c);
        if (status != Status.Bidding) revert WrongStatus(beaconId, status);
        if (block.timestamp <= _bidDeadline(st, c)) revert BiddingOpen(beaconId);
        if (st.status == Status.None) {
            st.status = Status.Bidding;
            st.bidDeadline = c.bidDeadline;
        }
        if (step != 0) {
            Step storage prev = _steps[beaconId - 1];
            if (prev.done == 0) {
                bool abandoned = prev.status == Status.Unfilled
                    && (msg.sender == _tasks[c.task].requester
                        || block.timestamp > uint256(_bidDeadline(prev, c)) + c.execWindow);
                if (!abandoned) revert PredecessorPending(beaconId);
                _unfill(beaconId, c, st, step);
                return;
            }
        }
        _assign(beaconId, c, st, step);
    }

    /// @notice Deliver a non-final step's result as a current executor before the deadline; pays this slot's share
    ///         and, on the first delivery, assigns the next step if its bid window is over.
    /// @dev An empty result is refused: nothing is paid for it, and the slot times out like a silent one.
    function submitResult(uint256 beaconId, bytes calldata result) external nonReentrant {
        (Chain storage c, Step storage st, uint256 step) = _load(beaconId);
        if (step + 1 == c.steps) revert FinalStep(beaconId);
        if (result.length == 0) revert EmptyResult(beaconId);
        if (result.length > maxPayloadBytes) revert PayloadTooLarge(result.length, maxPayloadBytes);
        (bool first,) = _deliver(beaconId, c, st);
        bytes32 taskId = bytes32(uint256(c.task));
        emit ResultSubmitted(beaconId, msg.sender, taskId, result);
        if (st.status == Status.Completed) emit BeaconCompleted(beaconId, taskId);
        _release(msg.sender);
        if (first) {
            Step storage next = _steps[beaconId + 1];
            if (_status(next, c) == Status.Bidding && block.timestamp > _bidDeadline(next, c)) {
                if (next.status == Status.None) {
                    next.status = Status.Bidding;
                    next.bidDeadline = c.bidDeadline;
                }
                _assign(beaconId + 1, c, next, step + 1);
            }
        }
        uint256 reward = c.rewardPerExecutor;
        if (reward != 0) _send(msg.sender, reward);
    }

    /// @notice Deliver a final step: the commitment keccak256(abi.encode(taskId, voter, answer, keccak256(result),
    ///         salt)), recorded as this executor's vote, and the slot's share is paid. The share is clawed back
    ///         (plus a fine) at settlement unless the revealed answer wins: an empty or wrong answer earns nothing.
    ///         A delivery the vote no longer counts (its commit phase is over) is not paid: the share is refunded
    ///         to the requester. Why: settlement only judges counted voters, so a paid late delivery would keep
    ///         its share whatever it contained — waiting out the commit window would make junk risk-free.
    function commitResult(uint256 beaconId, bytes32 commitment) external nonReentrant {
        (Chain storage c, Step storage st, uint256 step) = _load(beaconId);
        if (step + 1 != c.steps) revert NotFinal(beaconId);
        if (commitment == bytes32(0)) revert EmptyResult(beaconId);
        (, uint256 position) = _deliver(beaconId, c, st);
        bytes32 taskId = bytes32(uint256(c.task));
        Task storage t = _tasks[c.task];
        bool counted = IVoteCommitment(vote).recordCommitment(
            taskId, beaconId, uint8(position), msg.sender, commitment, t.finalSlots
        );
        if (st.status == Status.Completed) emit BeaconCompleted(beaconId, taskId);
        _release(msg.sender);
        uint256 reward = c.rewardPerExecutor;
        if (reward == 0) return;
        if (counted) _send(msg.sender, reward);
        else _refund(beaconId, t.requester, reward);
    }

    /// @notice After the exec deadline: every executor that did not deliver is timed out (capacity released,
    ///         failure recorded, slashUnit slashed, reputation −0.1); its slot goes to the best never-assigned
    ///         bidder that can take it (new deadline, at most MAX_ROUNDS rounds) or its share is credited back.
    function reclaimExpired(uint256 beaconId) external nonReentrant {
        (Chain storage c, Step storage st, uint256 step) = _load(beaconId);
        if (st.status != Status.Assigned) revert WrongStatus(beaconId, _status(st, c));
        if (block.timestamp <= st.execDeadline) revert DeadlineNotPassed(beaconId);
        address[] memory timedOut = _timeOut(beaconId, st);
        _refill(beaconId, c, st, step, timedOut.length);
        Task storage t = _tasks[c.task];
        bytes32 kind = _kind(c.task, t.hasKind, st.cluster);
        uint256 unit = slashUnit;
        for (uint256 i; i < timedOut.length; ++i) {
            _remember(t.requester, _idOf[timedOut[i]], false);
            _penalise(timedOut[i], kind, unit, true);
        }
    }

    // ------------------------------------------------------------------ vote hooks

    /// @inheritdoc ITaskBeacon
    /// @dev Rules (docs/protocol.md "Settlement"): every delivery was paid its share. A winning voter gets a
    ///      success; a lone (contradicted) or abstaining one a failure and a slash of its share plus slashUnit/5; a
    ///      silent one a failure, its share plus slashUnit and −0.1 reputation; an out-weighed one (others agreed
    ///      with it) nothing either way; an unconfirmed one (one of two differing answers) its share back only.
    ///      Each non-final executor of a chain that voted shares its chain's best outcome (won if one of its voters
    ///      won, spared if one was out-weighed or unconfirmed, failed otherwise). Successes
    ///      count only when the winner was `agreed` (two voters) on a chain paying at least minEvidenceReward, so
    ///      unpaid self-dealt tasks earn nothing. Slashed stake is burned.
    function settle(bytes32 taskId, VoterOutcome[] calldata outcomes, bool agreed) external onlyVote nonReentrant {
        uint256 number = _taskNumber(taskId);
        Task storage t = _tasks[number];
        if (t.settled) revert AlreadySettled(taskId);
        t.settled = true;
        uint256 unit = slashUnit;
        uint256 won;
        uint256 spared;
        uint256 voted;
        for (uint256 i; i < outcomes.length; ++i) {
            VoteOutcome o = outcomes[i].outcome;
            uint256 bit = 1 << _settleVoter(number, t, outcomes[i], agreed, unit);
            voted |= bit;
            if (o == VoteOutcome.Won) won |= bit;
            else if (o == VoteOutcome.Outweighed || o == VoteOutcome.Unconfirmed) spared |= bit;
        }
        uint256 first = t.firstChain;
        for (uint256 i; i < t.chains; ++i) {
            if ((voted >> i) & 1 == 0) continue;
            _settleChain(first + i, t, (won >> i) & 1 == 1, (spared >> i) & 1 == 1, agreed, unit);
        }
        emit TaskSettled(taskId, won, agreed);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc ITaskBeacon
    function experienceOf(address requester, address agent) external view returns (uint32 good, uint32 bad) {
        Experience storage e = _experience[requester][_idOf[agent]];
        return (e.good, e.bad);
    }

    /// @inheritdoc ITaskBeacon
    function taskCount() external view returns (uint256) {
        return _counters.tasks;
    }

    /// @inheritdoc ITaskBeacon
    function isCancelled(bytes32 taskId) external view returns (bool) {
        return _tasks[_taskNumber(taskId)].cancelled;
    }

    /// @inheritdoc ITaskBeacon
    function getTask(bytes32 taskId) external view returns (TaskInfo memory info) {
        uint256 number = _taskNumber(taskId);
        Task storage t = _tasks[number];
        info = TaskInfo(t.requester, t.firstChain, t.chains, t.finalSlots, t.settled, _kinds[number]);
    }

    /// @inheritdoc ITaskBeacon
    function getBeacon(uint256 beaconId) external view returns (BeaconInfo memory info) {
        (Chain storage c, Step storage st, uint256 step) = _load(beaconId);
        info.taskId = bytes32(uint256(c.task));
        info.chainId = beaconId >> 3;
        info.cotIndex = c.cotIndex;
        info.stepIndex = uint8(step);
        info.steps = c.steps;
        info.executors = c.executors;
        info.isFinal = step + 1 == c.steps;
        info.status = _status(st, c);
        info.requester = _tasks[c.task].requester;
        info.requirementsHash = _requirements[beaconId >> 3];
        info.kind = st.cluster == 0 && !_tasks[c.task].hasKind ? bytes32(0) : _kind(c.task, _tasks[c.task].hasKind, st.cluster);
        info.bidDeadline = _bidDeadline(st, c);
        info.execDeadline = st.execDeadline;
        info.execWindow = c.execWindow;
        info.rewardPerExecutor = c.rewardPerExecutor;
        info.bids = st.bidCount;
        info.slots = st.slots;
        info.delivered = st.delivered;
        info.rounds = st.rounds;
    }

    /// @inheritdoc ITaskBeacon
    function getBids(uint256 beaconId) external view returns (Bid[] memory out) {
        Book memory b = _loadBook(beaconId, _steps[beaconId].bidCount);
        out = new Bid[](b.ids.length);
        for (uint256 i; i < b.ids.length; ++i) {
            out[i] = Bid(_agentOf[b.ids[i]], uint64(b.scores[i]) * uint64(SCORE_UNIT), b.newcomer[i]);
        }
    }

    /// @inheritdoc ITaskBeacon
    /// @dev Current executors in bid position order: assigned and not timed out.
    function executorsOf(uint256 beaconId) external view returns (address[] memory out) {
        Step storage st = _steps[beaconId];
        Book memory b = _loadBook(beaconId, st.bidCount);
        uint256 live = uint256(st.assigned) & ~uint256(st.failed);
        address[] memory tmp = new address[](b.ids.length);
        uint256 m;
        for (uint256 i; i < b.ids.length; ++i) {
            if (live & (1 << i) != 0) tmp[m++] = _agentOf[b.ids[i]];
        }
        out = new address[](m);
        for (uint256 i; i < m; ++i) {
            out[i] = tmp[i];
        }
    }

    /// @inheritdoc ITaskBeacon
    function isExecutor(uint256 beaconId, address agent) external view returns (bool) {
        Step storage st = _steps[beaconId];
        uint256 p = _find(beaconId, st.bidCount, _idOf[agent]);
        return p != NONE && (uint256(st.assigned) & ~uint256(st.failed)) & (1 << p) != 0;
    }

    /// @inheritdoc ITaskBeacon
    function hasDelivered(uint256 beaconId, address agent) external view returns (bool) {
        Step storage st = _steps[beaconId];
        uint256 p = _find(beaconId, st.bidCount, _idOf[agent]);
        return p != NONE && st.done & (1 << p) != 0;
    }

    /// @inheritdoc ITaskBeacon
    function chainWeight(uint256 chainId) external view returns (uint256) {
        return _chainWeight(chainId);
    }

    /// @inheritdoc ITaskBeacon
    function expectedVoters(bytes32 taskId) external view returns (uint256) {
        return _tasks[_taskNumber(taskId)].finalSlots;
    }

    /// @inheritdoc ITaskBeacon
    function taskRequester(bytes32 taskId) external view returns (address) {
        uint256 number = uint256(taskId);
        return number == 0 || number > _counters.tasks ? address(0) : _tasks[number].requester;
    }

    /// @inheritdoc ITaskBeacon
    /// @dev For a derived kind, zero until the step's first bid computed its cluster.
    function kindOf(uint256 beaconId) external view returns (bytes32) {
        (Chain storage c, Step storage st,) = _load(beaconId);
        Task storage t = _tasks[c.task];
        if (!t.hasKind && st.cluster == 0) return bytes32(0);
        return _kind(c.task, t.hasKind, st.cluster);
    }

    // ------------------------------------------------------------------ internals: lookup

    function _load(uint256 beaconId) private view returns (Chain storage c, Step storage st, uint256 step) {
        c = _chains[beaconId >> 3];
        step = beaconId & 7;
        if (c.task == 0 || step >= c.steps) revert UnknownBeacon(beaconId);
        st = _steps[beaconId];
    }

    function _taskNumber(bytes32 taskId) private view returns (uint256 number) {
        number = uint256(taskId);
        if (number == 0 || number > _counters.tasks) revert UnknownTask(taskId);
    }

    function _status(Step storage st, Chain storage) private view returns (Status) {
        Status s = st.status;
        return s == Status.None ? Status.Bidding : s;
    }

    function _bidDeadline(Step storage st, Chain storage c) private view returns (uint40) {
        return st.status == Status.None ? c.bidDeadline : st.bidDeadline;
    }

    /// @dev The evidence kind of a step: the task's explicit kind, or keccak256("symphony.cluster", cluster) where
    ///      cluster = 2·argmax|r_i| + (r_i < 0) of the step's requirement (docs/protocol.md "Kinds").
    function _kind(uint256 task, bool hasKind, uint8 clusterPlusOne) private view returns (bytes32) {
        if (hasKind) return _kinds[task];
        if (clusterPlusOne == 0) return bytes32(0);
        return keccak256(abi.encodePacked("symphony.cluster", clusterPlusOne - 1));
    }

    /// @dev 2·i + (r_i < 0) for the first component i of largest magnitude.
    function _cluster(bytes32 r) private pure returns (uint8) {
        uint256 best;
        int256 bestValue;
        uint256 bestAbs;
        for (uint256 i; i < 32; ++i) {
            int256 v = CapabilityMath.component(r, i);
            uint256 m = uint256(v < 0 ? -v : v);
            if (m > bestAbs) {
                bestAbs = m;
                best = i;
                bestValue = v;
            }
        }
        return uint8(2 * best + (bestValue < 0 ? 1 : 0));
    }

    function _ensureId(address agent) private returns (uint32 id) {
        id = _idOf[agent];
        if (id != 0) return id;
        id = ++_counters.agents;
        _idOf[agent] = id;
        _agentOf[id] = agent;
    }

    // ------------------------------------------------------------------ internals: the book

    function _entry(uint32 id, uint32 score, bool newcomer) private pure returns (uint256) {
        return (uint256(id) << 32) | (uint256(score) << 1) | (newcomer ? 1 : 0);
    }

    function _scoreOf(uint256 entry) private pure returns (uint256) {
        return (entry >> 1) & 0x7fffffff;
    }

    function _idAt(uint256 word, uint256 pos) private pure returns (uint32) {
        return uint32(word >> ((pos % 4) * 64 + 32));
    }

    function _get(mapping(uint256 => uint256) storage book, uint256 pos) private view returns (uint256) {
        return uint64(book[pos / 4] >> ((pos % 4) * 64));
    }

    function _put(mapping(uint256 => uint256) storage book, uint256 pos, uint256 entry) private {
        uint256 shift = (pos % 4) * 64;
        uint256 word = book[pos / 4];
        book[pos / 4] = (word & ~(uint256(type(uint64).max) << shift)) | (entry << shift);
    }

    /// @dev Add `entry` to the book (refusing a second bid by the same agent); in a full book it must beat the lowest
    ///      bid, which it replaces. Keeps bidCount and minPos. Returns the displaced agent (zero if none).
    function _insert(uint256 beaconId, Step storage st, uint256 entry) private returns (address displaced) {
        uint256 n = st.bidCount;
        mapping(uint256 => uint256) storage book = _book[beaconId];
        uint32 id = uint32(entry >> 32);
        if (_find(beaconId, n, id) != NONE) revert AlreadyBid(beaconId, msg.sender);
        uint256 minPos = st.minPos;
        if (n < MAX_BIDS) {
            _put(book, n, entry);
            if (n == 0 || _better(beaconId, _get(book, minPos), entry)) minPos = n;
            st.bidCount = uint8(n + 1); // n < MAX_BIDS (16)
        } else {
            uint256 lowest = _get(book, minPos);
            if (!_better(beaconId, entry, lowest)) {
                revert BidTooLow(beaconId, uint64(_scoreOf(entry) * SCORE_UNIT), uint64(_scoreOf(lowest) * SCORE_UNIT));
            }
            displaced = _agentOf[uint32(lowest >> 32)];
            _put(book, minPos, entry);
            minPos = _lowest(beaconId, book);
        }
        st.minPos = uint8(minPos);
    }

    /// @dev Is bid `a` ranked above bid `b`? Higher score; equal scores by the lower keccak256(beaconId, agent id),
    ///      a rule no transaction order can influence.
    function _better(uint256 beaconId, uint256 a, uint256 b) private pure returns (bool) {
        uint256 sa = _scoreOf(a);
        uint256 sb = _scoreOf(b);
        if (sa != sb) return sa > sb;
        return _tieKey(beaconId, uint32(a >> 32)) < _tieKey(beaconId, uint32(b >> 32));
    }

    function _tieKey(uint256 beaconId, uint32 id) private pure returns (uint256) {
        return uint256(keccak256(abi.encode(beaconId, id)));
    }

    function _lowest(uint256 beaconId, mapping(uint256 => uint256) storage book) private view returns (uint256 pos) {
        uint256 low = _get(book, 0);
        for (uint256 p = 1; p < MAX_BIDS; ++p) {
            uint256 e = _get(book, p);
            if (_better(beaconId, low, e)) {
                low = e;
                pos = p;
            }
        }
    }

    function _loadBook(uint256 beaconId, uint256 n) private view returns (Book memory b) {
        b.ids = new uint32[](n);
        b.scores = new uint32[](n);
        b.newcomer = new bool[](n);
        mapping(uint256 => uint256) storage book = _book[beaconId];
        uint256 word;
        for (uint256 p; p < n; ++p) {
            if (p % 4 == 0) word = book[p / 4];
            uint256 e = uint64(word >> ((p % 4) * 64));
            b.ids[p] = uint32(e >> 32);
            b.scores[p] = uint32(_scoreOf(e));
            b.newcomer[p] = e & 1 == 1;
        }
    }

    function _find(uint256 beaconId, uint256 n, uint32 id) private view returns (uint256) {
        if (id == 0) return NONE;
        mapping(uint256 => uint256) storage book = _book[beaconId];
        uint256 word;
        for (uint256 p; p < n; ++p) {
            if (p % 4 == 0) word = book[p / 4];
            if (_idAt(word, p) == id) return p;
        }
        return NONE;
    }

    /// @dev Best untried position (newcomers only if `newcomerOnly`), or NONE.
    function _best(uint256 beaconId, Book memory b, bool newcomerOnly) private pure returns (uint256 best) {
        best = NONE;
        for (uint256 p; p < b.ids.length; ++p) {
            if (b.tried & (1 << p) != 0 || (newcomerOnly && !b.newcomer[p])) continue;
            if (best == NONE || _betterMem(beaconId, b, p, best)) best = p;
        }
    }

    function _betterMem(uint256 beaconId, Book memory b, uint256 p, uint256 q) private pure returns (bool) {
        if (b.scores[p] != b.scores[q]) return b.scores[p] > b.scores[q];
        return _tieKey(beaconId, b.ids[p]) < _tieKey(beaconId, b.ids[q]);
    }

    // ------------------------------------------------------------------ internals: assignment

    /// @dev Close a step: exploration slot first (one step in EXPLORE_ONE_IN), then by rank; refund what stays empty.
    function _assign(uint256 beaconId, Chain storage c, Step storage st, uint256 step) private {
        uint256 n = st.bidCount;
        if (n == 0) {
            _unfill(beaconId, c, st, step);
            return;
        }
        Book memory b = _loadBook(beaconId, n);
        Task storage t = _tasks[c.task];
        bool isFinal = step + 1 == c.steps;
        uint256 k = c.executors;
        uint256 assigned;
        uint256 count;
        if (step != 0) {
            // chain continuity: bidders that delivered the previous step first, in rank order
            uint256 strangers = _strangers(beaconId, b);
            b.tried |= strangers;
            (assigned, count) = _fill(beaconId, b, c.task, t, k, false, assigned, count);
            b.tried &= ~strangers;
        }
        if (count < k && uint256(keccak256(abi.encode(address(this), beaconId))) % EXPLORE_ONE_IN == 0) {
            (assigned, count) = _fill(beaconId, b, c.task, t, count + 1, true, assigned, count);
        }
        (assigned, count) = _fill(beaconId, b, c.task, t, k, false, assigned, count);
        if (count == 0) {
            _unfill(beaconId, c, st, step);
            return;
        }
        uint40 deadline = uint40(block.timestamp + c.execWindow);
        st.status = Status.Assigned;
        st.assigned = uint16(assigned);
        st.slots = uint8(count);
        st.execDeadline = deadline;
        _emitAssigned(beaconId, c, b, assigned, deadline);
        if (count < k) {
            if (isFinal) t.finalSlots -= uint8(k - count);
            _refund(beaconId, t.requester, (k - count) * c.rewardPerExecutor);
        }
    }

    /// @dev Take bidders (`_take`, newcomers only if `newcomerOnly`) until `count` reaches `upTo` or nobody is left;
    ///      returns the grown position mask and count.
    function _fill(
        uint256 beaconId,
        Book memory b,
        uint256 number,
        Task storage t,
        uint256 upTo,
        bool newcomerOnly,
        uint256 assigned,
        uint256 count
    ) private returns (uint256, uint256) {
        while (count < upTo) {
            uint256 p = _take(beaconId, b, number, t, newcomerOnly);
            if (p == NONE) break;
            assigned |= 1 << p;
            ++count;
        }
        return (assigned, count);
    }

    /// @dev Book positions of `beaconId` whose agent did not deliver the chain's previous step.
    ///      Why continuity: a chain is one try that the vote weighs against the others, and its non-final executors
    ///      share its outcome. If another agent may take a later step of a chain an agent is carrying, a vote copier
    ///      with a perfect claim takes the final steps of honest chains, delivers junk, and the honest executors of
    ///      the earlier steps share its failure (issue #14's copiers kept 10 % of the work that way).
    function _strangers(uint256 beaconId, Book memory b) private view returns (uint256 mask) {
        uint256 done = _steps[beaconId - 1].done;
        mapping(uint256 => uint256) storage prevBook = _book[beaconId - 1];
        uint32[] memory prev = new uint32[](MAX_BIDS);
        uint256 n;
        for (uint256 p; done >> p != 0; ++p) {
            if (done & (1 << p) != 0) prev[n++] = uint32(_get(prevBook, p) >> 32);
        }
        for (uint256 q; q < b.ids.length; ++q) {
            bool continuing;
            for (uint256 i; i < n && !continuing; ++i) {
                continuing = prev[i] == b.ids[q];
            }
            if (!continuing) mask |= 1 << q;
        }
    }

    /// @dev Mark every current executor that did not deliver as timed out; returns them.
    function _timeOut(uint256 beaconId, Step storage st) private returns (address[] memory out) {
        uint256 late = uint256(st.assigned) & ~uint256(st.failed) & ~uint256(st.done);
        st.failed |= uint16(late);
        address[] memory tmp = new address[](MAX_EXECUTORS);
        uint256 count;
        mapping(uint256 => uint256) storage book = _book[beaconId];
        for (uint256 p; late >> p != 0; ++p) {
            if (late & (1 << p) == 0) continue;
            address agent = _agentOf[uint32(_get(book, p) >> 32)];
            tmp[count++] = agent;
            emit ExecutorTimedOut(beaconId, agent);
        }
        out = new address[](count);
        for (uint256 i; i < count; ++i) {
            out[i] = tmp[i];
        }
    }

    /// @dev Give `freed` slots to the best never-assigned bidders (while rounds last) or credit their shares back.
    function _refill(uint256 beaconId, Chain storage c, Step storage st, uint256 step, uint256 freed) private {
        Book memory b = _loadBook(beaconId, st.bidCount);
        b.tried = st.assigned;
        Task storage t = _tasks[c.task];
        bool replace = st.rounds < MAX_ROUNDS && !t.cancelled;
        st.rounds += 1;
        bool isFinal = step + 1 == c.steps;
        uint256 refilled;
        uint256 slots = st.slots;
        for (uint256 i; i < freed; ++i) {
            uint256 p = replace ? _take(beaconId, b, c.task, t, false) : NONE;
            if (p != NONE) {
                st.assigned |= uint16(1 << p);
                refilled |= 1 << p;
            } else {
                --slots;
                _refund(beaconId, t.requester, c.rewardPerExecutor);
                if (isFinal) t.finalSlots -= 1;
            }
        }
        st.slots = uint8(slots);
        if (refilled != 0) {
            uint40 deadline = uint40(block.timestamp + c.execWindow);
            st.execDeadline = deadline;
            _emitAssigned(beaconId, c, b, refilled, deadline);
        }
        if (slots == st.delivered) {
            if (slots == 0) {
                st.status = Status.Unfilled;
                emit BeaconUnfilled(beaconId, 0);
            } else {
                st.status = Status.Completed;
                emit BeaconCompleted(beaconId, bytes32(uint256(c.task)));
            }
        }
    }

    function _emitAssigned(uint256 beaconId, Chain storage c, Book memory b, uint256 mask, uint40 deadline) private {
        bytes32 taskId = bytes32(uint256(c.task));
        for (uint256 p; mask >> p != 0; ++p) {
            if (mask & (1 << p) != 0) {
                emit ExecutorAssigned(beaconId, _agentOf[b.ids[p]], taskId, uint64(b.scores[p]) * uint64(SCORE_UNIT), deadline);
            }
        }
    }

    /// @dev Take the best untried bidder that the ledger lets reserve one unit of capacity and, in a task of several
    ///      chains, that works in no other chain of the task. Marks every bidder it looked at as tried.
    ///      Why one chain per agent: chains are independent tries that the vote weighs against each other. An agent
    ///      holding a step in every chain makes them one try (one wrong step spoils them all), and an attacker with
    ///      the best match takes every chain, decides the vote among its own junk and records the win as evidence.
    ///      With one chain each it is one voice against K − 1 honest chains, and loses.
    function _take(uint256 beaconId, Book memory b, uint256 number, Task storage t, bool newcomerOnly)
        private
        returns (uint256)
    {
        Chain storage c = _chains[beaconId >> 3];
        // what a failed delivery can cost: its share back plus the fine (a timeout costs slashUnit, less)
        uint256 atRisk = uint256(c.rewardPerExecutor) + _fine();
        uint8 chain = c.cotIndex + 1;
        bool exclusive = t.chains > 1;
        mapping(uint32 => uint8) storage chainOf = _chainOfAgent[number];
        while (true) {
            uint256 p = _best(beaconId, b, newcomerOnly);
            if (p == NONE) return NONE;
            b.tried |= 1 << p;
            uint32 id = b.ids[p];
            uint8 held = exclusive ? chainOf[id] : 0;
            if (held != 0 && held != chain) continue;
            address agent = _agentOf[id];
            bool ok;
            uint256 gasBefore = gasleft();
            try ledger.reserve(agent, atRisk) returns (bool reserved) {
                ok = reserved;
            } catch {
                _requireGas(gasBefore);
                emit LedgerCallFailed(ICapabilityLedger.reserve.selector, agent);
            }
            if (!ok) continue;
            if (exclusive && held == 0) chainOf[id] = chain;
            return p;
        }
        return NONE; // unreachable
    }

    function _unfill(uint256 beaconId, Chain storage c, Step storage st, uint256 step) private {
        st.status = Status.Unfilled;
        Task storage t = _tasks[c.task];
        if (step + 1 == c.steps) t.finalSlots -= c.executors;
        uint256 refund = uint256(c.executors) * c.rewardPerExecutor;
        _refund(beaconId, t.requester, refund);
        emit BeaconUnfilled(beaconId, refund);
    }

    // ------------------------------------------------------------------ internals: delivery and money

    /// @dev Mark msg.sender's slot delivered; returns whether it is the step's first delivery, and the position.
    function _deliver(uint256 beaconId, Chain storage c, Step storage st) private returns (bool first, uint256 p) {
        if (st.status != Status.Assigned) revert WrongStatus(beaconId, _status(st, c));
        if (block.timestamp > st.execDeadline) revert DeadlinePassed(beaconId);
        p = _positionOf(beaconId, st, msg.sender);
        uint16 bit = uint16(1 << p);
        if (st.done & bit != 0) revert AlreadySubmitted(beaconId, msg.sender);
        st.done |= bit;
        uint8 delivered = st.delivered + 1;
        st.delivered = delivered;
        first = delivered == 1;
        if (delivered == st.slots) st.status = Status.Completed;
    }

    /// @dev Bid position of `agent` as a current executor; reverts NotAssigned otherwise.
    function _positionOf(uint256 beaconId, Step storage st, address agent) private view returns (uint256 p) {
        p = _find(beaconId, st.bidCount, _idOf[agent]);
        if (p == NONE || (uint256(st.assigned) & ~uint256(st.failed)) & (1 << p) == 0) revert NotAssigned(beaconId, agent);
    }


    function _refund(uint256 beaconId, address requester, uint256 amount) private {
        if (amount == 0) return;
        credits[requester] += amount;
        emit RewardRefunded(beaconId, requester, amount);
    }

    function _send(address to, uint256 amount) private {
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert TransferFailed();
    }

    function _release(address agent) private {
        uint256 gasBefore = gasleft();
        try ledger.release(agent) {}
        catch {
            _requireGas(gasBefore);
            emit LedgerCallFailed(ICapabilityLedger.release.selector, agent);
        }
    }

    /// @dev A hook that ran out of gas must not pass for a refusal: a callee that exhausted its 63/64 leaves the
    ///      caller at most 1/64 of what it had. Reverting then makes gas estimation (and a short gas limit) retry
    ///      with enough gas, instead of silently skipping an assignment, a slash or a settlement.
    function _requireGas(uint256 gasBefore) private view {
        if (gasleft() <= gasBefore / 63) revert InsufficientGas();
    }

    // ------------------------------------------------------------------ internals: settlement

    /// @dev The fine on top of the clawed-back share for a losing, empty or abstaining delivery: slashUnit / 5.
    function _fine() private view returns (uint256) {
        return slashUnit / 5;
    }

    /// @dev Timeout or silent voter: optionally release capacity, record a failure, slash `amount`, −0.1 reputation.
    function _penalise(address agent, bytes32 kind, uint256 amount, bool releaseCapacity) private {
        if (releaseCapacity) _release(agent);
        _evidence(agent, kind, false);
        _slash(agent, amount);
        uint256 gasBefore = gasleft();
        try ledger.adjustReputation(agent, TIMEOUT_PENALTY) {}
        catch {
            _requireGas(gasBefore);
            emit LedgerCallFailed(ICapabilityLedger.adjustReputation.selector, agent);
        }
    }

    function _evidence(address agent, bytes32 kind, bool success) private {
        uint256 gasBefore = gasleft();
        try ledger.recordEvidence(agent, kind, success) {}
        catch {
            _requireGas(gasBefore);
            emit LedgerCallFailed(ICapabilityLedger.recordEvidence.selector, agent);
        }
    }

    function _slash(address agent, uint256 amount) private {
        if (amount == 0) return;
        uint256 gasBefore = gasleft();
        try ledger.slash(agent, amount, address(0)) returns (uint256) {}
        catch {
            _requireGas(gasBefore);
            emit LedgerCallFailed(ICapabilityLedger.slash.selector, agent);
        }
    }

    function _settleVoter(uint256 number, Task storage t, VoterOutcome calldata o, bool agreed, uint256 unit)
        private
        returns (uint256 cot)
    {
        Chain storage c = _chains[o.beaconId >> 3];
        if (c.task != number) revert UnknownBeacon(o.beaconId);
        cot = c.cotIndex;
        Step storage st = _steps[o.beaconId];
        uint32 id = uint32(_get(_book[o.beaconId], o.position) >> 32);
        address agent = _agentOf[id];
        bytes32 kind = _kind(number, t.hasKind, st.cluster);
        uint256 reward = c.rewardPerExecutor;
        if (o.outcome == VoteOutcome.Won) {
            if (agreed && reward >= minEvidenceReward) {
                _evidence(agent, kind, true);
                _remember(t.requester, id, true);
            }
        } else if (o.outcome == VoteOutcome.Outweighed) {
            // out-weighed, not shown wrong: keeps its share, no evidence either way
        } else if (o.outcome == VoteOutcome.Unconfirmed) {
            _slash(agent, reward); // not shown wrong, not confirmed: the share back, no fine, no evidence
        } else if (o.outcome == VoteOutcome.Silent) {
            _remember(t.requester, id, false);
            emit ExecutorTimedOut(o.beaconId, agent);
            _penalise(agent, kind, reward + unit, false);
        } else {
            if (o.outcome == VoteOutcome.Lost) _remember(t.requester, id, false);
            _evidence(agent, kind, false);
            _slash(agent, reward + unit / 5);
        }
    }

    /// @dev A bid's score as `requester` sees it (docs/protocol.md "Requester's view"): the ledger's score (match ·
    ///      trust over all requesters) times (good + 2) / (good + bad + 2) of the requester's own record of the agent
    ///      — exact when bad == 0, and the ledger's score for a requester with no record. Why: the ledger's evidence
    ///      can be bought (a requester posting tasks to its own agents farms successes for the burned fee), a
    ///      requester's own record of an agent only by giving that requester answers that win its agreed votes.
    function _requesterView(address requester, uint32 id, uint64 score) private view returns (uint64) {
        Experience storage e = _experience[requester][id];
        uint256 good = e.good;
        // casting is safe: the factor is at most 1, so the result is at most `score`
        // forge-lint: disable-next-line(unsafe-typecast)
        return uint64((uint256(score) * (good + 2)) / (good + e.bad + 2));
    }

    /// @dev Unchecked: a counter would need 2^32 settlements of one requester's tasks to wrap.
    function _remember(address requester, uint32 id, bool good) private {
        Experience storage e = _experience[requester][id];
        unchecked {
            if (good) ++e.good;
            else ++e.bad;
        }
    }

    /// @dev Give every non-final executor of a chain that voted its chain's outcome; a spared chain's (out-weighed,
    ///      not shown wrong) get nothing either way.
    function _settleChain(uint256 chainId, Task storage t, bool won, bool spared, bool agreed, uint256 unit) private {
        if (spared && !won) return;
        Chain storage c = _chains[chainId];
        uint256 base = chainId << 3;
        uint256 last = c.steps - 1;
        bool evidence = agreed && c.rewardPerExecutor >= minEvidenceReward;
        uint256 penalty = won ? 0 : c.rewardPerExecutor + unit / 5;
        for (uint256 s; s < last; ++s) {
            _settleStep(base + s, _kind(c.task, t.hasKind, _steps[base + s].cluster), won, evidence, penalty);
        }
    }

    function _settleStep(uint256 beaconId, bytes32 kind, bool won, bool evidence, uint256 penalty) private {
        Step storage st = _steps[beaconId];
        uint256 done = st.done;
        mapping(uint256 => uint256) storage book = _book[beaconId];
        for (uint256 p; done >> p != 0; ++p) {
            if (done & (1 << p) == 0) continue;
            address agent = _agentOf[uint32(_get(book, p) >> 32)];
            if (won) {
                if (evidence) _evidence(agent, kind, true);
            } else {
                _evidence(agent, kind, false);
                _slash(agent, penalty);
            }
        }
    }

    /// @dev The lowest bid score among the chain's delivering executors: a chain is as trustworthy as its least
    ///      trusted link, so an executor cannot borrow weight from a better one's step (a mean let a vote copier
    ///      holding a proven specialist's final step out-weigh two agreeing chains).
    function _chainWeight(uint256 chainId) private view returns (uint256) {
        Chain storage c = _chains[chainId];
        uint256 lowest = type(uint256).max;
        for (uint256 s; s < c.steps; ++s) {
            uint256 beaconId = (chainId << 3) + s;
            Step storage st = _steps[beaconId];
            uint256 done = st.done;
            if (done == 0) continue;
            mapping(uint256 => uint256) storage book = _book[beaconId];
            for (uint256 p; done >> p != 0; ++p) {
                if (done & (1 << p) == 0) continue;
                uint256 score = _scoreOf(_get(book, p));
                if (score < lowest) lowest = score;
            }
        }
        return lowest == type(uint256).max ? 0 : lowest * SCORE_UNIT;
    }
}
