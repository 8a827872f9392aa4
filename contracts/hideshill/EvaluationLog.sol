// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IHideShillPool} from "./IHideShillPool.sol";
import {OutcomeLib} from "./OutcomeLib.sol";
import {PoolFactory} from "./PoolFactory.sol";
import {ICapabilityLedger} from "../interfaces/ICapabilityLedger.sol";
import {Owned} from "../lib/Owned.sol";

/// @title EvaluationLog
/// @notice Append-only, commit-reveal log of pump-and-dump predictions, scored from on-chain prices.
/// @dev Why commit-reveal with an on-chain resolver: a detector's track record is only credible if every
///      prediction was fixed before the outcome existed and every score is re-derivable by anyone. A detector
///      commits `keccak256(abi.encode(pool, horizon, label, confidence, modelHash, salt))`; the pool and the
///      horizon also travel in clear (they do not reveal the prediction, and the contract needs them to record
///      the pre-window base price at commit time). After `t0 + H` anyone resolves: the contract reads the
///      pool's cumulative prices, applies the rule of docs/hideshill_protocol.md and scores the prediction.
///      A prediction never revealed scores `EXPIRED_SCORE`, the worst score, so hiding a bad call never pays.
///      The deployer owns it through `Owned`; the owner's only power is `setLedger`.
contract EvaluationLog is Owned {
    enum Status {
        Committed,
        Revealed,
        Resolved,
        Expired
    }

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
    }

    struct DetectorStats {
        uint64 commits;
        uint64 truePositives;
        uint64 falsePositives;
        uint64 trueNegatives;
        uint64 falseNegatives;
        uint64 expired;
        int128 totalScore;
    }

    uint256 public constant MAX_HORIZON = 30 days;
    uint256 public constant MAX_CONFIDENCE = 10_000;
    uint256 public constant MAX_PAGE = 100;
    int256 public constant EXPIRED_SCORE = -15;
    /// @notice A resolution moves the detector's reputation `1 / REPUTATION_STEPS` of the way to its target
    ///         `clamp(1 + score / 10, 0, 2)` (WAD): TP 2.0, TN 1.1, FN and FP on a quiet market 0.5, FP on price
    ///         discovery 0.
    /// @dev Why a moving average and not a sum of scores: a sum with the ledger's cap saturates — every detector
    ///      with a positive expected score ends at the cap and the weights stop telling good from better. The
    ///      average settles near the mean target of the detector's recent predictions (an always-right detector
    ///      on a 40 % pump mix near 1.46, an always-"no" one near 0.86), so reputation keeps ranking detectors.
    uint256 public constant REPUTATION_STEPS = 8;
    int256 public constant MAX_REPUTATION_TARGET = 2e18;

    PoolFactory public immutable factory;
    /// @notice Optional CapabilityLedger whose reputation resolved evaluations adjust (zero: none).
    ICapabilityLedger public ledger;

    Evaluation[] internal _evaluations;
    mapping(address => uint256[]) internal _byDetector;
    mapping(address => DetectorStats) internal _stats;

    error NotOwner(address caller);
    error UnknownPool(address pool);
    error InvalidHorizon(uint256 horizon);
    error ZeroCommitment();
    error HistoryUnavailable(address pool, uint256 t0);
    error UnknownEvaluation(uint256 id);
    error NotDetector(uint256 id, address caller);
    error WrongStatus(uint256 id, Status status);
    error InvalidLabel(uint8 label);
    error InvalidConfidence(uint256 confidence);
    error CommitmentMismatch(uint256 id);
    error HorizonNotReached(uint256 id, uint256 readyAt);
    error PageTooLarge(uint256 limit, uint256 maximum);

    event Committed(
        uint256 indexed id,
        address indexed detector,
        address indexed pool,
        uint256 horizon,
        uint256 t0,
        uint256 base,
        bytes32 commitment
    );
    /// @notice The salt is published so anyone can recompute the commitment from logs alone.
    event Revealed(
        uint256 indexed id, address indexed detector, uint8 label, uint16 confidence, bytes32 modelHash, bytes32 salt
    );
    event Resolved(
        uint256 indexed id,
        address indexed detector,
        Status status,
        OutcomeLib.Outcome outcome,
        uint8 predicted,
        int256 rPeakBp,
        int256 rEndBp,
        int256 score,
        uint256[4] subTwaps
    );
    event LedgerSet(address indexed ledger);
    event ReputationAdjusted(uint256 indexed id, address indexed detector, int256 delta);
    event ReputationAdjustmentFailed(uint256 indexed id, address indexed detector, int256 delta, bytes reason);

    constructor(PoolFactory factory_, ICapabilityLedger ledger_) Owned(msg.sender) {
        factory = factory_;
        ledger = ledger_;
        emit LedgerSet(address(ledger_));
    }

    /// @notice Point resolved evaluations at a CapabilityLedger (the ledger owner must authorise this contract).
    function setLedger(ICapabilityLedger ledger_) external onlyOwner {
        ledger = ledger_;
        emit LedgerSet(address(ledger_));
    }

    /// @notice The commitment a detector publishes; also computable off chain with `abi.encode`.
    function computeCommitment(
        address pool,
        uint256 horizon,
        uint8 label,
        uint16 confidence,
        bytes32 modelHash,
        bytes32 salt
    ) public pure returns (bytes32) {
        return keccak256(abi.encode(pool, horizon, label, confidence, modelHash, salt));
    }

    /// @notice Commit a hidden prediction about `pool` for the window `[now, now + horizon]`.
    /// @dev Records `t0 = block.timestamp` and `base = twap(max(t0 - H/4, oldest observation), t0)`.
    function commit(address pool, uint256 horizon, bytes32 commitment) external returns (uint256 id) {
        if (!factory.isPool(pool)) revert UnknownPool(pool);
        if (horizon == 0 || horizon % 4 != 0 || horizon > MAX_HORIZON) revert InvalidHorizon(horizon);
        if (commitment == bytes32(0)) revert ZeroCommitment();
        uint256 t0 = block.timestamp;
        uint256 start = t0 - horizon / 4;
        uint256 oldest = IHideShillPool(pool).oldestObservationTime();
        if (start < oldest) start = oldest;
        if (start >= t0) revert HistoryUnavailable(pool, t0);
        uint256 base = IHideShillPool(pool).twap(start, t0);

        id = _evaluations.length;
        Evaluation storage e = _evaluations.push();
        e.detector = msg.sender;
        // casting is safe because a block timestamp fits 64 bits
        // forge-lint: disable-next-line(unsafe-typecast)
        e.t0 = uint64(t0);
        // casting is safe because horizon <= MAX_HORIZON (30 days) was checked above
        // forge-lint: disable-next-line(unsafe-typecast)
        e.horizon = uint32(horizon);
        e.pool = pool;
        e.base = base;
        e.commitment = commitment;
        _byDetector[msg.sender].push(id);
        _stats[msg.sender].commits += 1;
        emit Committed(id, msg.sender, pool, horizon, t0, base, commitment);
    }

    /// @notice Open a commitment (only its detector, any time before it is resolved).
    function reveal(uint256 id, uint8 label, uint16 confidence, bytes32 modelHash, bytes32 salt) external {
        Evaluation storage e = _get(id);
        if (e.detector != msg.sender) revert NotDetector(id, msg.sender);
        if (e.status != Status.Committed) revert WrongStatus(id, e.status);
        if (label > 1) revert InvalidLabel(label);
        if (confidence > MAX_CONFIDENCE) revert InvalidConfidence(confidence);
        if (computeCommitment(e.pool, e.horizon, label, confidence, modelHash, salt) != e.commitment) {
            revert CommitmentMismatch(id);
        }
        e.status = Status.Revealed;
        e.predicted = label;
        e.confidence = confidence;
        e.modelHash = modelHash;
        emit Revealed(id, msg.sender, label, confidence, modelHash, salt);
    }

    /// @notice After `t0 + H`, derive the realised outcome from the pool's prices and score the prediction.
    function resolve(uint256 id) external {
        Evaluation storage e = _get(id);
        Status status = e.status;
        if (status != Status.Committed && status != Status.Revealed) revert WrongStatus(id, status);
        uint256 readyAt = uint256(e.t0) + e.horizon;
        if (block.timestamp < readyAt) revert HorizonNotReached(id, readyAt);

        uint256[4] memory m = _subTwaps(IHideShillPool(e.pool), e.t0, e.horizon / 4);
        (OutcomeLib.Outcome outcome, int256 rPeak, int256 rEnd) = OutcomeLib.classify(e.base, m);
        bool revealed = status == Status.Revealed;
        int256 points = revealed ? OutcomeLib.score(e.predicted, outcome) : EXPIRED_SCORE;

        e.status = revealed ? Status.Resolved : Status.Expired;
        e.outcome = outcome;
        // casting is safe because scores lie in [-15, 10]
        // forge-lint: disable-next-line(unsafe-typecast)
        e.score = int16(points);
        e.rPeakBp = _saturate(rPeak);
        e.rEndBp = _saturate(rEnd);
        _count(e, revealed, points);
        emit Resolved(id, e.detector, e.status, outcome, e.predicted, rPeak, rEnd, points, m);
        _adjustReputation(id, e.detector, points);
    }

    /// @dev `m_k = twap(t0 + k*q, t0 + (k+1)*q)` from five cumulative reads (same numbers as `pool.twap`).
    function _subTwaps(IHideShillPool pool, uint256 t0, uint256 quarter) private view returns (uint256[4] memory m) {
        uint256 prev = pool.cumulativeAt(t0);
        for (uint256 k = 0; k < 4; ++k) {
            uint256 next = pool.cumulativeAt(t0 + (k + 1) * quarter);
            m[k] = (next - prev) / quarter;
            prev = next;
        }
    }

    /// @dev Per-detector confusion counters and running score.
    function _count(Evaluation storage e, bool revealed, int256 points) private {
        DetectorStats storage s = _stats[e.detector];
        bool manipulated = e.outcome == OutcomeLib.Outcome.MANIPULATION;
        if (!revealed) s.expired += 1;
        else if (e.predicted == 1) {
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

    /// @dev Last step (CEI): optional ledger calls whose failure is logged and never blocks the resolution.
    function _adjustReputation(uint256 id, address detector, int256 points) private {
        ICapabilityLedger l = ledger;
        if (address(l) == address(0)) return;
        int256 current;
        try l.reputationOf(detector) returns (uint64 r) {
            current = int256(uint256(r));
        } catch (bytes memory reason) {
            emit ReputationAdjustmentFailed(id, detector, 0, reason);
            return;
        }
        int256 delta = (reputationTarget(points) - current) / int256(REPUTATION_STEPS);
        try l.adjustReputation(detector, delta) {
            emit ReputationAdjusted(id, detector, delta);
        } catch (bytes memory reason) {
            emit ReputationAdjustmentFailed(id, detector, delta, reason);
        }
    }

    // ------------------------------------------------------------------------------------------ views

    function evaluationCount() external view returns (uint256) {
        return _evaluations.length;
    }

    function getEvaluation(uint256 id) external view returns (Evaluation memory) {
        return _get(id);
    }

    /// @notice Evaluations in id order, at most `limit` (<= MAX_PAGE) from `offset`.
    function getEvaluations(uint256 offset, uint256 limit) external view returns (Evaluation[] memory page) {
        if (limit > MAX_PAGE) revert PageTooLarge(limit, MAX_PAGE);
        uint256 n = _evaluations.length;
        if (offset >= n) return new Evaluation[](0);
        uint256 end = offset + limit > n ? n : offset + limit;
        page = new Evaluation[](end - offset);
        for (uint256 i = offset; i < end; ++i) {
            page[i - offset] = _evaluations[i];
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

    function _revertNotOwner() internal view override {
        revert NotOwner(msg.sender);
    }

    function _get(uint256 id) private view returns (Evaluation storage) {
        if (id >= _evaluations.length) revert UnknownEvaluation(id);
        return _evaluations[id];
    }

    /// @dev Stored returns saturate at the int128 range instead of reverting, so no price path, however
    ///      absurd, can make an evaluation unresolvable. The label and score use the exact int256 values, and
    ///      the `Resolved` event carries them unclamped.
    function _saturate(int256 x) private pure returns (int128) {
        if (x > type(int128).max) return type(int128).max;
        if (x < type(int128).min) return type(int128).min;
        // casting to 'int128' is safe because the range was checked above
        // forge-lint: disable-next-line(unsafe-typecast)
        return int128(x);
    }
}
