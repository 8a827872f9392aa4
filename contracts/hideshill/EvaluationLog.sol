// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IHideShillPool} from "./IHideShillPool.sol";
import {IEvidenceLedger} from "./IEvidenceLedger.sol";
import {OutcomeLib} from "./OutcomeLib.sol";
import {PoolFactory} from "./PoolFactory.sol";
import {Owned} from "../lib/Owned.sol";
import {ReentrancyLock} from "../lib/ReentrancyLock.sol";

/// @title EvaluationLog
/// @notice Commit-reveal log of pump-and-dump predictions about windows that requesters chose, scored from
///         on-chain prices; resolved entries become detection evidence and reputation on the CapabilityLedger.
/// @dev Why windows opened by requesters (protocol v2, docs/evaluation_log.md): in v1 a detector chose its own
///      pool and horizon at commit time, so a quiet pool with H = 4 s was a sure true negative and a
///      self-inflicted pump a sure true positive. Now:
///      - a requester opens a window `(pool, t0, H)` for a fee (`windowFee`, kept for the treasury), with
///        `minHorizon <= H <= 30 days`, `now < t0 <= now + H/4`; the base price `twap(now - H/4, now)` and the
///        cumulative price at opening are fixed in that transaction, i.e. before any commit block;
///      - each registered, staked detector (active on the ledger, stake >= `minDetectorStake`) commits at
///        most one hidden prediction per window, before `t0`; the opener may log one entry of its own (the
///        committee's verdict), which is scored but never touches the ledger;
///      - after `t0 + H` anyone resolves: the five boundary cumulatives are checkpointed once per window (anyone
///        may checkpoint earlier) and the outcome is computed once per window; a window whose history could not
///        be read expires all its entries with the unrevealed-call penalty;
///      - a detector that paid for a swap on the window's pool between the base window's start and the
///        resolution (the pool's `lastSwapAt`, the `msg.sender` of `Swap`) has its entry voided: the worst
///        score, a failed evidence record, and `SELF_TRADE_SLASH_BP` of its stake slashed to the treasury;
///      - a window in which any participant (the opener or a detector with an entry) traded by settlement is
///        tainted: its other revealed entries resolve as `Tainted`, score 0, and touch nothing on the ledger.
///      All ledger calls run last (checks-effects-interactions), each with a fixed gas stipend that the resolver
///      must be able to pay, and their failure is logged: a misconfigured ledger never blocks a resolution and a
///      resolver cannot starve them of gas to skip a penalty.
contract EvaluationLog is Owned, ReentrancyLock {
    enum Status {
        Committed,
        Revealed,
        Resolved,
        Expired,
        Voided,
        Tainted
    }

    /// @notice A window a requester asked detectors about (storage layout; `getWindow` returns it as is).
    struct Window {
        address pool;
        uint64 t0;
        uint32 horizon;
        address opener;
        uint64 openedAt;
        uint8 checkpointed; // bit k set: cum[k] = cumulativeAt(t0 + k * H/4) is stored
        bool settled;
        bool unresolvable;
        bool tainted; // a participant (an entry's detector or the opener) traded the pool: evidence for nobody
        OutcomeLib.Outcome outcome;
        uint64 baseStart;
        uint32 entries;
        int128 rPeakBp;
        int128 rEndBp;
        uint256 base;
        uint256 cumOpen;
        uint256[5] cum;
    }

    /// @dev One detector's entry in one window.
    struct Entry {
        address detector;
        uint64 windowId;
        Status status;
        uint8 predicted;
        uint16 confidence;
        int16 score;
        bool openerEntry;
        uint64 committedAt;
        bytes32 commitment;
        bytes32 modelHash;
    }

    /// @notice One entry with its window's fields, as views return it.
    struct Evaluation {
        address detector;
        uint64 t0;
        uint32 horizon;
        address pool;
        Status status;
        uint8 predicted;
        uint16 confidence;
        OutcomeLib.Outcome outcome;
        int16 score;
        uint256 base;
        bytes32 commitment;
        bytes32 modelHash;
        int128 rPeakBp;
        int128 rEndBp;
        uint64 windowId;
        uint64 committedAt;
        bool openerEntry;
    }

    struct DetectorStats {
        uint64 commits;
        uint64 truePositives;
        uint64 falsePositives;
        uint64 trueNegatives;
        uint64 falseNegatives;
        uint64 expired;
        uint64 voided;
        uint64 tainted;
        int128 totalScore;
    }

    uint256 public constant MAX_HORIZON = 30 days;
    /// @notice No deployment may accept windows shorter than this (each quarter spans at least 100 s).
    uint256 public constant MIN_HORIZON_FLOOR = 400;
    uint256 public constant MAX_CONFIDENCE = 10_000;
    uint256 public constant MAX_PAGE = 100;
    /// @notice Entries one window accepts (bounds the participant scan at settlement).
    uint256 public constant MAX_ENTRIES_PER_WINDOW = 64;
    int256 public constant EXPIRED_SCORE = -15;
    /// @notice Evidence kind recorded on the ledger for every resolved detector entry.
    bytes32 public constant DETECTION_KIND = keccak256("hideshill-detection");
    /// @notice Share of its stake (bp) a detector loses when its entry is voided for self-trading.
    uint256 public constant SELF_TRADE_SLASH_BP = 5_000;
    /// @notice Gas every ledger call receives; a resolution with less gas left reverts instead of skipping it.
    uint256 public constant LEDGER_CALL_GAS = 200_000;
    /// @notice A resolution moves the detector's reputation `1 / REPUTATION_STEPS` of the way to its target
    ///         `clamp(1 + score / 10, 0, 2)` (WAD): TP 2.0, TN 1.1, FN and FP on a quiet market 0.5, FP on price
    ///         discovery, expiry and voiding 0.
    /// @dev Why a moving average and not a sum of scores: a sum with the ledger's cap saturates — every detector
    ///      with a positive expected score ends at the cap and the weights stop telling good from better.
    uint256 public constant REPUTATION_STEPS = 8;
    int256 public constant MAX_REPUTATION_TARGET = 2e18;
    uint8 internal constant ALL_CHECKPOINTS = 0x1f;
    uint256 internal constant BP = 10_000;

    PoolFactory public immutable factory;
    /// @notice Shortest horizon a window may have (>= MIN_HORIZON_FLOOR, a multiple of 4).
    uint256 public immutable minHorizon;
    /// @notice The CapabilityLedger whose agents may commit and whose evidence/reputation resolutions move.
    IEvidenceLedger public ledger;
    /// @notice Exact fee (wei) for opening a window; it accrues to the treasury.
    uint256 public windowFee;
    /// @notice Stake (wei) a detector must hold on the ledger to commit.
    uint256 public minDetectorStake;
    /// @notice Receives window fees and slashed stake.
    address public treasury;
    /// @notice Window fees not yet sent to the treasury.
    uint256 public feesAccrued;

    Window[] internal _windows;
    Entry[] internal _entries;
    mapping(uint256 => mapping(address => uint256)) internal _entryOf; // window => detector => entry id + 1
    mapping(uint256 => address[]) internal _participants; // window => detectors with an entry, in commit order
    mapping(address => uint256[]) internal _byDetector;
    mapping(address => DetectorStats) internal _stats;

    error NotOwner(address caller);
    error UnknownPool(address pool);
    error InvalidHorizon(uint256 horizon);
    error InvalidStart(uint256 t0, uint256 earliest, uint256 latest);
    error WrongFee(uint256 sent, uint256 fee);
    error ZeroBasePrice(address pool);
    error ZeroCommitment();
    error HistoryUnavailable(address pool, uint256 t0);
    error UnknownWindow(uint256 windowId);
    error UnknownEvaluation(uint256 id);
    error WindowClosed(uint256 windowId, uint256 t0);
    error AlreadyCommitted(uint256 windowId, address detector, uint256 id);
    error WindowFull(uint256 windowId, uint256 maximum);
    error NoLedger();
    error NotRegisteredDetector(address detector);
    error InsufficientDetectorStake(address detector, uint256 stake, uint256 minimum);
    error DetectorTraded(address detector, address pool, uint256 tradedAt);
    error NotDetector(uint256 id, address caller);
    error WrongStatus(uint256 id, Status status);
    error InvalidLabel(uint8 label);
    error InvalidConfidence(uint256 confidence);
    error CommitmentMismatch(uint256 id);
    error HorizonNotReached(uint256 id, uint256 readyAt);
    error PageTooLarge(uint256 limit, uint256 maximum);
    error InsufficientGas(uint256 left, uint256 needed);
    error NothingToWithdraw();
    error TransferFailed();
    error ZeroAddress();

    event WindowOpened(
        uint256 indexed windowId,
        address indexed opener,
        address indexed pool,
        uint256 t0,
        uint256 horizon,
        uint256 baseStart,
        uint256 base,
        uint256 fee
    );
    event Committed(
        uint256 indexed id, uint256 indexed windowId, address indexed detector, bytes32 commitment, bool openerEntry
    );
    /// @notice The salt is published so anyone can recompute the commitment from logs alone.
    event Revealed(
        uint256 indexed id, address indexed detector, uint8 label, uint16 confidence, bytes32 modelHash, bytes32 salt
    );
    event Checkpointed(uint256 indexed windowId, uint256 k, uint256 at, uint256 cumulative);
    /// @notice The window's outcome, computed once from its checkpoints (`historyAvailable` false: expired;
    ///         `tainted`: a participant traded the pool, so no entry of it counts as evidence).
    event WindowSettled(
        uint256 indexed windowId,
        OutcomeLib.Outcome outcome,
        int256 rPeakBp,
        int256 rEndBp,
        uint256[4] subTwaps,
        bool historyAvailable,
        bool tainted
    );
    event Resolved(
        uint256 indexed id,
        uint256 indexed windowId,
        address indexed detector,
        Status status,
        OutcomeLib.Outcome outcome,
        uint8 predicted,
        int256 score
    );
    /// @notice The detector paid for a swap on the pool at `tradedAt`, inside its window: the entry is void.
    event SelfTradeVoided(uint256 indexed id, address indexed detector, address indexed pool, uint256 tradedAt);
    event ReputationAdjusted(uint256 indexed id, address indexed detector, int256 delta);
    event ReputationAdjustmentFailed(uint256 indexed id, address indexed detector, int256 delta, bytes reason);
    event EvidenceRecorded(uint256 indexed id, address indexed detector, bool success);
    event EvidenceFailed(uint256 indexed id, address indexed detector, bool success, bytes reason);
    event StakeSlashed(uint256 indexed id, address indexed detector, uint256 amount, address to);
    event SlashFailed(uint256 indexed id, address indexed detector, uint256 amount, bytes reason);
    event LedgerSet(address indexed ledger);
    event WindowFeeSet(uint256 fee);
    event MinDetectorStakeSet(uint256 minimum);
    event TreasurySet(address indexed treasury);
    event FeesWithdrawn(address indexed treasury, uint256 amount);

    /// @param minHorizon_ shortest window horizon (>= MIN_HORIZON_FLOOR, multiple of 4)
    /// @param windowFee_ exact wei a requester pays to open a window
    /// @param minDetectorStake_ wei of ledger stake a committing detector must hold
    constructor(
        PoolFactory factory_,
        IEvidenceLedger ledger_,
        uint256 minHorizon_,
        uint256 windowFee_,
        uint256 minDetectorStake_
    ) Owned(msg.sender) {
        if (minHorizon_ < MIN_HORIZON_FLOOR || minHorizon_ % 4 != 0 || minHorizon_ > MAX_HORIZON) {
            revert InvalidHorizon(minHorizon_);
        }
        factory = factory_;
        minHorizon = minHorizon_;
        ledger = ledger_;
        windowFee = windowFee_;
        minDetectorStake = minDetectorStake_;
        treasury = msg.sender;
        emit LedgerSet(address(ledger_));
        emit WindowFeeSet(windowFee_);
        emit MinDetectorStakeSet(minDetectorStake_);
        emit TreasurySet(msg.sender);
    }

    // ------------------------------------------------------------------------------------------ owner

    /// @notice Point the log at a CapabilityLedger (whose owner must authorise this contract).
    function setLedger(IEvidenceLedger ledger_) external onlyOwner {
        ledger = ledger_;
        emit LedgerSet(address(ledger_));
    }

    function setWindowFee(uint256 fee) external onlyOwner {
        windowFee = fee;
        emit WindowFeeSet(fee);
    }

    function setMinDetectorStake(uint256 minimum) external onlyOwner {
        minDetectorStake = minimum;
        emit MinDetectorStakeSet(minimum);
    }

    function setTreasury(address treasury_) external onlyOwner {
        if (treasury_ == address(0)) revert ZeroAddress();
        treasury = treasury_;
        emit TreasurySet(treasury_);
    }

    /// @notice Send the accrued window fees to the treasury (anyone may trigger it).
    function withdrawFees() external nonReentrant {
        uint256 amount = feesAccrued;
        if (amount == 0) revert NothingToWithdraw();
        feesAccrued = 0;
        address to = treasury;
        emit FeesWithdrawn(to, amount);
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert TransferFailed();
    }

    // ------------------------------------------------------------------------------------------ windows

    /// @notice Open the window `[t0, t0 + horizon]` on `pool` for detectors to predict; pays `windowFee`.
    /// @dev Fixes `base = twap(max(now - H/4, creation), now)` and the cumulative price at `now`; both depend only
    ///      on prices in force before this block, so no trade in this or a later block (a commit block) moves them.
    function openWindow(address pool, uint256 t0, uint256 horizon)
        external
        payable
        nonReentrant
        returns (uint256 windowId)
    {
        if (!factory.isPool(pool)) revert UnknownPool(pool);
        if (horizon < minHorizon || horizon % 4 != 0 || horizon > MAX_HORIZON) revert InvalidHorizon(horizon);
        uint256 quarter = horizon / 4;
        uint256 nowTs = block.timestamp;
        if (t0 <= nowTs || t0 > nowTs + quarter) revert InvalidStart(t0, nowTs + 1, nowTs + quarter);
        if (msg.value != windowFee) revert WrongFee(msg.value, windowFee);
        uint256 start = nowTs > quarter ? nowTs - quarter : 0;
        uint256 oldest = IHideShillPool(pool).oldestObservationTime();
        if (start < oldest) start = oldest;
        if (start >= nowTs) revert HistoryUnavailable(pool, nowTs);
        uint256 cumOpen = IHideShillPool(pool).cumulativeAt(nowTs);
        uint256 base = (cumOpen - IHideShillPool(pool).cumulativeAt(start)) / (nowTs - start);
        if (base == 0) revert ZeroBasePrice(pool);

        windowId = _windows.length;
        Window storage w = _windows.push();
        w.pool = pool;
        // casting is safe because t0 <= now + 30 days / 4 fits 64 bits
        // forge-lint: disable-next-line(unsafe-typecast)
        w.t0 = uint64(t0);
        // casting is safe because horizon <= MAX_HORIZON (30 days) was checked above
        // forge-lint: disable-next-line(unsafe-typecast)
        w.horizon = uint32(horizon);
        w.opener = msg.sender;
        // casting is safe because block timestamps fit 64 bits
        // forge-lint: disable-next-line(unsafe-typecast)
        w.openedAt = uint64(nowTs);
        // forge-lint: disable-next-line(unsafe-typecast)
        w.baseStart = uint64(start);
        w.base = base;
        w.cumOpen = cumOpen;
        feesAccrued += msg.value;
        emit WindowOpened(windowId, msg.sender, pool, t0, horizon, start, base, msg.value);
    }

    /// @notice Store the cumulative price at every boundary `t0 + k * H/4` that has passed and is not stored yet.
    /// @dev Anyone may call it at any time; `resolve` calls it too. Stored boundaries never change again.
    function checkpoint(uint256 windowId) external returns (uint256 stored) {
        return _checkpoint(windowId, _window(windowId));
    }

    // ------------------------------------------------------------------------------------------ entries

    /// @notice The commitment a detector publishes for a window; also computable off chain with `abi.encode`.
    /// @dev The detector's address is inside, so nobody can copy another detector's commitment and open it
    ///      with the salt that detector reveals.
    function computeCommitment(
        uint256 windowId,
        address detector,
        uint8 label,
        uint16 confidence,
        bytes32 modelHash,
        bytes32 salt
    ) public pure returns (bytes32) {
        return keccak256(abi.encode(windowId, detector, label, confidence, modelHash, salt));
    }

    /// @notice Commit a hidden prediction about window `windowId` (before its `t0`; once per detector).
    function commit(uint256 windowId, bytes32 commitment) external nonReentrant returns (uint256 id) {
        Window storage w = _window(windowId);
        if (block.timestamp >= w.t0) revert WindowClosed(windowId, w.t0);
        if (commitment == bytes32(0)) revert ZeroCommitment();
        uint256 existing = _entryOf[windowId][msg.sender];
        if (existing != 0) revert AlreadyCommitted(windowId, msg.sender, existing - 1);
        if (w.entries >= MAX_ENTRIES_PER_WINDOW) revert WindowFull(windowId, MAX_ENTRIES_PER_WINDOW);
        bool openerEntry = msg.sender == w.opener;
        if (!openerEntry) _checkDetector(msg.sender);
        address pool = w.pool;
        uint256 traded = IHideShillPool(pool).lastSwapAt(msg.sender);
        if (traded != 0 && traded >= w.baseStart) revert DetectorTraded(msg.sender, pool, traded);

        id = _entries.length;
        Entry storage e = _entries.push();
        e.detector = msg.sender;
        // casting is safe because there are fewer than 2**64 windows
        // forge-lint: disable-next-line(unsafe-typecast)
        e.windowId = uint64(windowId);
        e.openerEntry = openerEntry;
        // casting is safe because block timestamps fit 64 bits
        // forge-lint: disable-next-line(unsafe-typecast)
        e.committedAt = uint64(block.timestamp);
        e.commitment = commitment;
        _entryOf[windowId][msg.sender] = id + 1;
        _participants[windowId].push(msg.sender);
        w.entries += 1;
        _byDetector[msg.sender].push(id);
        _stats[msg.sender].commits += 1;
        emit Committed(id, windowId, msg.sender, commitment, openerEntry);
    }

    /// @notice Open a commitment (only its detector, any time before it is resolved).
    function reveal(uint256 id, uint8 label, uint16 confidence, bytes32 modelHash, bytes32 salt) external {
        Entry storage e = _entry(id);
        if (e.detector != msg.sender) revert NotDetector(id, msg.sender);
        if (e.status != Status.Committed) revert WrongStatus(id, e.status);
        if (label > 1) revert InvalidLabel(label);
        if (confidence > MAX_CONFIDENCE) revert InvalidConfidence(confidence);
        if (computeCommitment(e.windowId, msg.sender, label, confidence, modelHash, salt) != e.commitment) {
            revert CommitmentMismatch(id);
        }
        e.status = Status.Revealed;
        e.predicted = label;
        e.confidence = confidence;
        e.modelHash = modelHash;
        emit Revealed(id, msg.sender, label, confidence, modelHash, salt);
    }

    /// @notice After `t0 + H`, score entry `id` against its window's outcome (computed once per window).
    function resolve(uint256 id) external nonReentrant {
        Entry storage e = _entry(id);
        Status status = e.status;
        if (status != Status.Committed && status != Status.Revealed) revert WrongStatus(id, status);
        uint256 windowId = e.windowId;
        Window storage w = _windows[windowId];
        uint256 readyAt = uint256(w.t0) + w.horizon;
        if (block.timestamp < readyAt) revert HorizonNotReached(id, readyAt);
        if (!w.settled) _settle(windowId, w);

        address detector = e.detector;
        uint256 tradedAt = IHideShillPool(w.pool).lastSwapAt(detector);
        bool selfTraded = tradedAt != 0 && tradedAt >= w.baseStart;
        Status next;
        int256 points;
        if (selfTraded) {
            next = Status.Voided;
            points = EXPIRED_SCORE;
        } else if (status == Status.Committed || w.unresolvable) {
            next = Status.Expired;
            points = EXPIRED_SCORE;
        } else if (w.tainted) {
            next = Status.Tainted; // points stay 0: a window a participant traded proves nothing either way
        } else {
            next = Status.Resolved;
            points = OutcomeLib.score(e.predicted, w.outcome);
        }
        e.status = next;
        // casting is safe because scores lie in [-15, 10]
        // forge-lint: disable-next-line(unsafe-typecast)
        e.score = int16(points);
        _count(detector, next, e.predicted, w.outcome, points);
        emit Resolved(id, windowId, detector, next, w.outcome, e.predicted, points);
        if (selfTraded) emit SelfTradeVoided(id, detector, w.pool, tradedAt);
        if (!e.openerEntry && next != Status.Tainted) {
            _ledgerEffects(id, detector, points, next == Status.Resolved && points > 0, selfTraded);
        }
    }

    // ------------------------------------------------------------------------------------------ internals

    /// @dev Registered and staked on the ledger. A ledger without `stakeOf` (v1) is trusted for its registration
    ///      minimum: there, an active agent registered with at least `minStake()` and cannot withdraw while active.
    function _checkDetector(address detector) private view {
        IEvidenceLedger l = ledger;
        if (address(l).code.length == 0) revert NoLedger();
        bool active;
        try l.isActive(detector) returns (bool a) {
            active = a;
        } catch {}
        if (!active) revert NotRegisteredDetector(detector);
        uint256 minimum = minDetectorStake;
        if (minimum == 0) return;
        uint256 stake;
        try l.stakeOf(detector) returns (uint256 s) {
            stake = s;
        } catch {
            try l.minStake() returns (uint256 m) {
                stake = m;
            } catch {}
        }
        if (stake < minimum) revert InsufficientDetectorStake(detector, stake, minimum);
    }

    function _checkpoint(uint256 windowId, Window storage w) private returns (uint256 stored) {
        uint8 mask = w.checkpointed;
        if (mask == ALL_CHECKPOINTS) return 0;
        IHideShillPool pool = IHideShillPool(w.pool);
        uint256 quarter = w.horizon / 4;
        uint256 t0 = w.t0;
        for (uint256 k = 0; k < 5; ++k) {
            uint8 bit = uint8(1 << k);
            if (mask & bit != 0) continue;
            uint256 at = t0 + k * quarter;
            if (at > block.timestamp) break;
            try pool.cumulativeAt(at) returns (uint256 c) {
                w.cum[k] = c;
                mask |= bit;
                stored += 1;
                emit Checkpointed(windowId, k, at, c);
            } catch {}
        }
        w.checkpointed = mask;
    }

    /// @dev The window's outcome from its five boundary cumulatives: `m_k = (cum[k+1] - cum[k]) / (H/4)`.
    ///      The window is tainted when any participant — the opener or a detector with an entry — paid for a swap
    ///      on the pool since the base window's start (a scan of at most MAX_ENTRIES_PER_WINDOW + 1 addresses).
    ///      Why: a coalition in which one member pumps (and is voided) while the others only commit would
    ///      otherwise collect true positives, and every honest negative of the window would become a false one.
    function _settle(uint256 windowId, Window storage w) private {
        _checkpoint(windowId, w);
        w.settled = true;
        bool tainted = _participantTraded(windowId, w);
        w.tainted = tainted;
        uint256[4] memory m;
        if (w.checkpointed != ALL_CHECKPOINTS) {
            w.unresolvable = true;
            emit WindowSettled(windowId, OutcomeLib.Outcome.NONE, 0, 0, m, false, tainted);
            return;
        }
        uint256 quarter = w.horizon / 4;
        for (uint256 k = 0; k < 4; ++k) {
            m[k] = (w.cum[k + 1] - w.cum[k]) / quarter;
        }
        (OutcomeLib.Outcome outcome, int256 rPeak, int256 rEnd) = OutcomeLib.classify(w.base, m);
        w.outcome = outcome;
        w.rPeakBp = _saturate(rPeak);
        w.rEndBp = _saturate(rEnd);
        emit WindowSettled(windowId, outcome, rPeak, rEnd, m, true, tainted);
    }

    function _participantTraded(uint256 windowId, Window storage w) private view returns (bool) {
        IHideShillPool pool = IHideShillPool(w.pool);
        uint256 since = w.baseStart;
        uint256 t = pool.lastSwapAt(w.opener);
        if (t != 0 && t >= since) return true;
        address[] storage participants = _participants[windowId];
        uint256 n = participants.length;
        for (uint256 i = 0; i < n; ++i) {
            t = pool.lastSwapAt(participants[i]);
            if (t != 0 && t >= since) return true;
        }
        return false;
    }

    /// @dev Per-detector confusion counters and running score.
    function _count(address detector, Status status, uint8 predicted, OutcomeLib.Outcome outcome, int256 points)
        private
    {
        DetectorStats storage s = _stats[detector];
        bool manipulated = outcome == OutcomeLib.Outcome.MANIPULATION;
        if (status == Status.Voided) s.voided += 1;
        else if (status == Status.Expired) s.expired += 1;
        else if (status == Status.Tainted) s.tainted += 1;
        else if (predicted == 1) {
            if (manipulated) s.truePositives += 1;
            else s.falsePositives += 1;
        } else {
            if (manipulated) s.falseNegatives += 1;
            else s.trueNegatives += 1;
        }
        // casting is safe because scores lie in [-15, 10]
        // forge-lint: disable-next-line(unsafe-typecast)
        s.totalScore += int128(points);
    }

    /// @notice The reputation a prediction scoring `points` pulls its detector towards (WAD).
    function reputationTarget(int256 points) public pure returns (int256 target) {
        target = 1e18 + points * 1e17;
        if (target < 0) target = 0;
        else if (target > MAX_REPUTATION_TARGET) target = MAX_REPUTATION_TARGET;
    }

    /// @dev Last step (CEI): reputation moving average, the evidence record, and the slash of a self-trader.
    ///      Each is a low-level call with a fixed stipend; a failure is logged and never blocks the resolution.
    function _ledgerEffects(uint256 id, address detector, int256 points, bool success, bool selfTraded) private {
        address l = address(ledger);
        if (l == address(0)) return;
        if (l.code.length == 0) {
            emit ReputationAdjustmentFailed(id, detector, 0, bytes("ledger has no code"));
            emit EvidenceFailed(id, detector, success, bytes("ledger has no code"));
            return;
        }
        (bool ok, uint256 current) = _readUint(l, abi.encodeCall(IEvidenceLedger.reputationOf, (detector)));
        if (ok && current <= type(uint64).max) {
            // casting is safe because a ledger reputation is a uint64
            // forge-lint: disable-next-line(unsafe-typecast)
            int256 delta = (reputationTarget(points) - int256(current)) / int256(REPUTATION_STEPS);
            bytes memory reason;
            (ok, reason) = _ledgerCall(l, abi.encodeCall(IEvidenceLedger.adjustReputation, (detector, delta)));
            if (ok) emit ReputationAdjusted(id, detector, delta);
            else emit ReputationAdjustmentFailed(id, detector, delta, reason);
        } else {
            emit ReputationAdjustmentFailed(id, detector, 0, bytes("reputationOf failed"));
        }

        {
            (bool recorded, bytes memory why) = _ledgerCall(
                l, abi.encodeCall(IEvidenceLedger.recordEvidence, (detector, DETECTION_KIND, success))
            );
            if (recorded) emit EvidenceRecorded(id, detector, success);
            else emit EvidenceFailed(id, detector, success, why);
        }

        if (!selfTraded) return;
        (bool known, uint256 stake) = _readUint(l, abi.encodeCall(IEvidenceLedger.stakeOf, (detector)));
        uint256 amount = known ? (stake * SELF_TRADE_SLASH_BP) / BP : 0;
        if (amount == 0) {
            emit SlashFailed(id, detector, 0, bytes(known ? "no stake" : "stakeOf failed"));
            return;
        }
        address to = treasury;
        (bool slashed, bytes memory slashReason) =
            _ledgerCall(l, abi.encodeCall(IEvidenceLedger.slash, (detector, amount, to)));
        if (slashed) emit StakeSlashed(id, detector, amount, to);
        else emit SlashFailed(id, detector, amount, slashReason);
    }

    /// @dev A state-changing ledger call with exactly LEDGER_CALL_GAS. Why the gasleft check: under EIP-150 a
    ///      call gets at most 63/64 of the gas left, so a resolver sending just too little gas could make the
    ///      call fail "inside the catch" and skip a penalty; now such a resolution reverts instead.
    function _ledgerCall(address l, bytes memory data) private returns (bool ok, bytes memory ret) {
        _requireGas();
        (ok, ret) = l.call{gas: LEDGER_CALL_GAS}(data);
    }

    /// @dev A view call returning one word; false when it reverts or returns less than 32 bytes.
    function _readUint(address l, bytes memory data) private view returns (bool ok, uint256 value) {
        _requireGas();
        bytes memory ret;
        (ok, ret) = l.staticcall{gas: LEDGER_CALL_GAS}(data);
        if (!ok || ret.length < 32) return (false, 0);
        value = abi.decode(ret, (uint256));
    }

    function _requireGas() private view {
        uint256 needed = (LEDGER_CALL_GAS * 64) / 63 + 5_000;
        if (gasleft() < needed) revert InsufficientGas(gasleft(), needed);
    }

    // ------------------------------------------------------------------------------------------ views

    function windowCount() external view returns (uint256) {
        return _windows.length;
    }

    function getWindow(uint256 windowId) external view returns (Window memory) {
        return _window(windowId);
    }

    /// @notice Windows in id order, at most `limit` (<= MAX_PAGE) from `offset`.
    function getWindows(uint256 offset, uint256 limit) external view returns (Window[] memory page) {
        if (limit > MAX_PAGE) revert PageTooLarge(limit, MAX_PAGE);
        uint256 n = _windows.length;
        if (offset >= n) return new Window[](0);
        uint256 end = offset + limit > n ? n : offset + limit;
        page = new Window[](end - offset);
        for (uint256 i = offset; i < end; ++i) {
            page[i - offset] = _windows[i];
        }
    }

    /// @notice The detectors with an entry in `windowId`, in commit order (at most MAX_ENTRIES_PER_WINDOW).
    function windowParticipants(uint256 windowId) external view returns (address[] memory) {
        _window(windowId);
        return _participants[windowId];
    }

    /// @notice Whether `detector` has an entry in `windowId`, and its id.
    function entryOf(uint256 windowId, address detector) external view returns (bool committed, uint256 id) {
        uint256 stored = _entryOf[windowId][detector];
        return (stored != 0, stored == 0 ? 0 : stored - 1);
    }

    function evaluationCount() external view returns (uint256) {
        return _entries.length;
    }

    function getEvaluation(uint256 id) external view returns (Evaluation memory) {
        return _view(_entry(id));
    }

    /// @notice Evaluations in id order, at most `limit` (<= MAX_PAGE) from `offset`.
    function getEvaluations(uint256 offset, uint256 limit) external view returns (Evaluation[] memory page) {
        if (limit > MAX_PAGE) revert PageTooLarge(limit, MAX_PAGE);
        uint256 n = _entries.length;
        if (offset >= n) return new Evaluation[](0);
        uint256 end = offset + limit > n ? n : offset + limit;
        page = new Evaluation[](end - offset);
        for (uint256 i = offset; i < end; ++i) {
            page[i - offset] = _view(_entries[i]);
        }
    }

    function detectorEvaluationCount(address detector) external view returns (uint256) {
        return _byDetector[detector].length;
    }

    /// @notice Ids of one detector's evaluations, at most `limit` (<= MAX_PAGE) from `offset`.
    function getDetectorEvaluationIds(address detector, uint256 offset, uint256 limit)
        external
        view
        returns (uint256[] memory page)
    {
        if (limit > MAX_PAGE) revert PageTooLarge(limit, MAX_PAGE);
        uint256[] storage ids = _byDetector[detector];
        uint256 n = ids.length;
        if (offset >= n) return new uint256[](0);
        uint256 end = offset + limit > n ? n : offset + limit;
        page = new uint256[](end - offset);
        for (uint256 i = offset; i < end; ++i) {
            page[i - offset] = ids[i];
        }
    }

    function statsOf(address detector) external view returns (DetectorStats memory) {
        return _stats[detector];
    }

    function _view(Entry storage e) private view returns (Evaluation memory v) {
        Window storage w = _windows[e.windowId];
        v.detector = e.detector;
        v.t0 = w.t0;
        v.horizon = w.horizon;
        v.pool = w.pool;
        v.status = e.status;
        v.predicted = e.predicted;
        v.confidence = e.confidence;
        v.outcome = w.outcome;
        v.score = e.score;
        v.base = w.base;
        v.commitment = e.commitment;
        v.modelHash = e.modelHash;
        v.rPeakBp = w.rPeakBp;
        v.rEndBp = w.rEndBp;
        v.windowId = e.windowId;
        v.committedAt = e.committedAt;
        v.openerEntry = e.openerEntry;
    }

    function _revertNotOwner() internal view override {
        revert NotOwner(msg.sender);
    }

    function _window(uint256 windowId) private view returns (Window storage) {
        if (windowId >= _windows.length) revert UnknownWindow(windowId);
        return _windows[windowId];
    }

    function _entry(uint256 id) private view returns (Entry storage) {
        if (id >= _entries.length) revert UnknownEvaluation(id);
        return _entries[id];
    }

    /// @dev Stored returns saturate at the int128 range instead of reverting, so no price path, however
    ///      absurd, can make an evaluation unresolvable. The label and score use the exact int256 values, and
    ///      the `WindowSettled` event carries them unclamped.
    function _saturate(int256 x) private pure returns (int128) {
        if (x > type(int128).max) return type(int128).max;
        if (x < type(int128).min) return type(int128).min;
        // casting to 'int128' is safe because the range was checked above
        // forge-lint: disable-next-line(unsafe-typecast)
        return int128(x);
    }
}
