// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IHideShillPool} from "./IHideShillPool.sol";
import {Owned} from "../lib/Owned.sol";
import {ReentrancyLock} from "../lib/ReentrancyLock.sol";

/// @notice The two ERC-20 calls the pool needs.
interface IERC20Minimal {
    function transfer(address to, uint256 amount) external returns (bool);
    function transferFrom(address from, address to, uint256 amount) external returns (bool);
}

/// @title ConstantProductPool
/// @notice Quote token Q versus one meme token T, Uniswap-V2 arithmetic with a 0.3 % fee and a TWAP oracle.
/// @dev Every formula is the one in docs/hideshill_protocol.md and in `marl_detector/amm.py`; a parity test
///      replays the same swaps through both and compares prices bit for bit. Conventions fixed there:
///      the first liquidity writes observation `(now, 0)`; before every reserve change, if `now > tLast`,
///      `cum += p_before * (now - tLast)` and one observation is appended (so at most one per block);
///      `cumulativeAt(t)` interpolates between observations and extrapolates with the spot price after tLast.
///      The observation history is append-only (never overwritten): why — with a bounded ring, 1,025 dust
///      swaps at distinct timestamps pushed a window's start out of the oracle and made its evaluations
///      unresolvable for ever. Keeping every observation costs one new storage slot per timestamp with a
///      reserve change (~17k gas more than overwriting a ring slot) and makes `cumulativeAt(t)` answer for every
///      `t` since creation (binary search, O(log n) reads).
///      `lastSwapAt(trader)` records when an address last paid for a swap (the `msg.sender`, never `to`: a
///      third party can send tokens to anybody, but cannot spend somebody else's tokens), so `EvaluationLog`
///      can see that a detector traded the pool it predicted.
///      Liquidity is owner-seeded only: the pool is a price venue for the detector study, not a DEX.
///      Ownership is `Owned` (the liquidity owner can hand the pool on); the lock is the transient `ReentrancyLock`,
///      whose `Reentrancy()` error is the one this ABI exposes.
contract ConstantProductPool is IHideShillPool, Owned, ReentrancyLock {
    uint256 internal constant WAD = 1e18;
    uint256 public constant FEE_NUMERATOR = 997;
    uint256 public constant FEE_DENOMINATOR = 1000;

    struct Observation {
        uint40 timestamp;
        uint216 cumulative;
    }

    address public immutable quoteToken;
    address public immutable memeToken;

    uint256 public reserveQ;
    uint256 public reserveT;
    /// @notice Sum of spot price x seconds since the first liquidity (WAD x s).
    uint256 public cumulativePrice;
    /// @notice Last time `cumulativePrice` was brought up to date.
    uint256 public tLast;

    /// @dev Every observation since the first liquidity, oldest first, never overwritten.
    Observation[] internal _observations;
    /// @notice Last timestamp at which `trader` paid for a swap on this pool (0: never).
    mapping(address => uint256) public lastSwapAt;

    error NotOwner(address caller);
    error ZeroAmount();
    error NoLiquidity();
    error InsufficientOutput(uint256 amountOut, uint256 minimum);
    error InsufficientLiquidity(uint256 amountOut, uint256 reserve);
    error FutureTime(uint256 t, uint256 nowTs);
    error HistoryUnavailable(uint256 t, uint256 oldest);
    error EmptyInterval(uint256 t0, uint256 t1);
    error TransferFailed();
    error IdenticalTokens();
    error CumulativeOverflow(uint256 value);

    /// @notice `buy` is true when Q goes in and T comes out. Reserves are the values after the swap.
    event Swap(address indexed sender, bool buy, uint256 amountIn, uint256 amountOut, uint256 reserveQ, uint256 reserveT);
    /// @notice Emitted after every reserve change (swaps and liquidity).
    event Sync(uint256 reserveQ, uint256 reserveT);
    event LiquidityAdded(address indexed provider, uint256 amountQ, uint256 amountT);

    constructor(address quoteToken_, address memeToken_, address owner_) Owned(owner_) {
        if (quoteToken_ == memeToken_) revert IdenticalTokens();
        quoteToken = quoteToken_;
        memeToken = memeToken_;
    }

    // ------------------------------------------------------------------------------------------ liquidity

    /// @notice Owner adds `amountQ` of Q and `amountT` of T (pulled with `transferFrom`). The first call
    ///         initialises the oracle; later calls move the price like any other reserve change.
    function addLiquidity(uint256 amountQ, uint256 amountT) external nonReentrant onlyOwner {
        if (amountQ == 0 || amountT == 0) revert ZeroAmount();
        if (_observations.length == 0) {
            // casting is safe because timestamps fit 40 bits until year 36812
            // forge-lint: disable-next-line(unsafe-typecast)
            _observations.push(Observation(uint40(block.timestamp), 0));
            tLast = block.timestamp;
        } else {
            _update();
        }
        uint256 rQ = reserveQ + amountQ;
        uint256 rT = reserveT + amountT;
        reserveQ = rQ;
        reserveT = rT;
        emit LiquidityAdded(msg.sender, amountQ, amountT);
        emit Sync(rQ, rT);
        _pull(quoteToken, amountQ);
        _pull(memeToken, amountT);
    }

    // ------------------------------------------------------------------------------------------ swaps

    /// @notice Quote of a swap: `out = a*997*rOut / (rIn*1000 + a*997)`.
    function getAmountOut(bool buy, uint256 amountIn) public view returns (uint256) {
        (uint256 rIn, uint256 rOut) = buy ? (reserveQ, reserveT) : (reserveT, reserveQ);
        if (rIn == 0 || rOut == 0) revert NoLiquidity();
        return (amountIn * FEE_NUMERATOR * rOut) / (rIn * FEE_DENOMINATOR + amountIn * FEE_NUMERATOR);
    }

    /// @notice Swap `amountIn` (pulled from the sender with `transferFrom`) and send the output to `to`.
    /// @param buy true: Q in, T out; false: T in, Q out.
    /// @param minAmountOut slippage bound; the swap reverts below it.
    function swap(bool buy, uint256 amountIn, uint256 minAmountOut, address to)
        external
        nonReentrant
        returns (uint256 amountOut)
    {
        if (amountIn == 0) revert ZeroAmount();
        if (_observations.length == 0) revert NoLiquidity();
        _update();
        lastSwapAt[msg.sender] = block.timestamp;
        uint256 rQ = reserveQ;
        uint256 rT = reserveT;
        (uint256 rIn, uint256 rOut) = buy ? (rQ, rT) : (rT, rQ);
        amountOut = (amountIn * FEE_NUMERATOR * rOut) / (rIn * FEE_DENOMINATOR + amountIn * FEE_NUMERATOR);
        if (amountOut == 0 || amountOut >= rOut) revert InsufficientLiquidity(amountOut, rOut);
        if (amountOut < minAmountOut) revert InsufficientOutput(amountOut, minAmountOut);
        if (buy) {
            rQ += amountIn;
            rT -= amountOut;
        } else {
            rT += amountIn;
            rQ -= amountOut;
        }
        reserveQ = rQ;
        reserveT = rT;
        emit Swap(msg.sender, buy, amountIn, amountOut, rQ, rT);
        emit Sync(rQ, rT);
        (address tokenIn, address tokenOut) = buy ? (quoteToken, memeToken) : (memeToken, quoteToken);
        _pull(tokenIn, amountIn);
        if (!IERC20Minimal(tokenOut).transfer(to, amountOut)) revert TransferFailed();
    }

    // ------------------------------------------------------------------------------------------ oracle

    /// @inheritdoc IHideShillPool
    function spotPrice() public view returns (uint256) {
        if (reserveT == 0) revert NoLiquidity();
        return (reserveQ * WAD) / reserveT;
    }

    /// @inheritdoc IHideShillPool
    function oldestObservationTime() public view returns (uint256) {
        if (_observations.length == 0) revert NoLiquidity();
        return _observations[0].timestamp;
    }

    /// @notice Number of observations (one per timestamp with a reserve change, plus the creation).
    function observationCount() external view returns (uint256) {
        return _observations.length;
    }

    /// @notice Observation `i`, oldest first (0 = the pool's creation).
    function observation(uint256 i) external view returns (uint256 timestamp, uint256 cumulative) {
        uint256 count = _observations.length;
        if (i >= count) revert HistoryUnavailable(i, count);
        Observation memory o = _observations[i];
        return (o.timestamp, o.cumulative);
    }

    /// @inheritdoc IHideShillPool
    function cumulativeAt(uint256 t) public view returns (uint256) {
        uint256 count = _observations.length;
        if (count == 0) revert NoLiquidity();
        if (t > block.timestamp) revert FutureTime(t, block.timestamp);
        uint256 last = tLast;
        if (t >= last) return cumulativePrice + spotPrice() * (t - last);
        Observation memory lo = _observations[0];
        if (t < lo.timestamp) revert HistoryUnavailable(t, lo.timestamp);
        // Binary search over [0, count-1] for the last observation with timestamp <= t. The newest observation
        // has timestamp == tLast > t, so the answer is < count - 1; log2(count) iterations.
        uint256 left = 0;
        uint256 right = count - 1;
        while (right - left > 1) {
            uint256 mid = (left + right) / 2;
            if (_observations[mid].timestamp <= t) left = mid;
            else right = mid;
        }
        lo = _observations[left];
        if (t == lo.timestamp) return lo.cumulative;
        Observation memory hi = _observations[left + 1];
        return lo.cumulative + (uint256(hi.cumulative - lo.cumulative) * (t - lo.timestamp)) / (hi.timestamp - lo.timestamp);
    }

    /// @inheritdoc IHideShillPool
    function twap(uint256 t0, uint256 t1) external view returns (uint256) {
        if (t1 <= t0) revert EmptyInterval(t0, t1);
        return (cumulativeAt(t1) - cumulativeAt(t0)) / (t1 - t0);
    }

    // ------------------------------------------------------------------------------------------ internals

    /// @dev Accumulate the pre-change price up to now and append one observation (at most one per timestamp).
    function _update() private {
        uint256 last = tLast;
        if (block.timestamp > last) {
            uint256 cum = cumulativePrice + spotPrice() * (block.timestamp - last);
            cumulativePrice = cum;
            tLast = block.timestamp;
            // casting is safe because timestamps fit 40 bits until year 36812 and cum is range-checked
            // forge-lint: disable-next-line(unsafe-typecast)
            _observations.push(Observation(uint40(block.timestamp), _toUint216(cum)));
        }
    }

    function _pull(address token, uint256 amount) private {
        if (!IERC20Minimal(token).transferFrom(msg.sender, address(this), amount)) revert TransferFailed();
    }

    function _revertNotOwner() internal view override {
        revert NotOwner(msg.sender);
    }

    function _toUint216(uint256 x) private pure returns (uint216) {
        if (x > type(uint216).max) revert CumulativeOverflow(x);
        // casting is safe because x <= type(uint216).max was checked above
        // forge-lint: disable-next-line(unsafe-typecast)
        return uint216(x);
    }
}
