// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MarketFixture} from "./utils/MarketFixture.sol";
import {ReentrantToken, FalseToken} from "./utils/BadTokens.sol";
import {MemeToken} from "../../../contracts/hideshill/MemeToken.sol";
import {ConstantProductPool} from "../../../contracts/hideshill/ConstantProductPool.sol";
import {ReentrancyLock} from "../../../contracts/lib/ReentrancyLock.sol";

contract ConstantProductPoolTest is MarketFixture {
    event Swap(address indexed sender, bool buy, uint256 amountIn, uint256 amountOut, uint256 reserveQ, uint256 reserveT);
    event Sync(uint256 reserveQ, uint256 reserveT);

    function test_initialState() public view {
        assertEq(pool.reserveQ(), SEED_Q, "rQ");
        assertEq(pool.reserveT(), SEED_T, "rT");
        assertEq(pool.spotPrice(), 1e15, "spot = rQ*1e18/rT");
        assertEq(pool.observationCount(), 1, "one observation at creation");
        (uint256 ts, uint256 cum) = pool.observation(0);
        assertEq(ts, START, "first observation time");
        assertEq(cum, 0, "first observation cum");
        assertEq(pool.oldestObservationTime(), START, "oldest");
    }

    function test_swapBuyFollowsFormulaAndMovesTokens() public {
        uint256 a = 10e18;
        uint256 expected = (a * 997 * SEED_T) / (SEED_Q * 1000 + a * 997);
        uint256 before = meme.balanceOf(address(this));
        vm.expectEmit(true, false, false, true);
        emit Swap(address(this), true, a, expected, SEED_Q + a, SEED_T - expected);
        uint256 out = _buy(a);
        assertEq(out, expected, "amountOut");
        assertEq(meme.balanceOf(address(this)) - before, expected, "received");
        assertEq(pool.reserveQ(), SEED_Q + a, "rQ");
        assertEq(pool.reserveT(), SEED_T - expected, "rT");
        assertEq(quote.balanceOf(address(pool)), SEED_Q + a, "pool holds its reserve");
    }

    function test_swapSellFollowsFormula() public {
        uint256 a = 5_000e18;
        uint256 expected = (a * 997 * SEED_Q) / (SEED_T * 1000 + a * 997);
        assertEq(pool.getAmountOut(false, a), expected, "quote");
        vm.expectEmit(false, false, false, true);
        emit Sync(SEED_Q - expected, SEED_T + a);
        assertEq(_sell(a), expected, "amountOut");
    }

    function test_cumulativeAccumulatesPreChangePrice() public {
        vm.warp(START + 100);
        uint256 p0 = pool.spotPrice();
        _buy(50e18);
        uint256 p1 = pool.spotPrice();
        assertEq(pool.cumulativePrice(), p0 * 100, "cum uses the price before the swap");
        // A second swap in the same block changes the price but neither cum nor the observation count.
        _buy(50e18);
        uint256 p2 = pool.spotPrice();
        assertGt(p2, p1, "second buy raises price");
        assertEq(pool.cumulativePrice(), p0 * 100, "cum unchanged within a block");
        assertEq(pool.observationCount(), 2, "one observation per block");
        vm.warp(START + 160);
        _sell(1e18);
        assertEq(pool.cumulativePrice(), p0 * 100 + p2 * 60, "cum after second block");
        // Interpolation and extrapolation.
        assertEq(pool.cumulativeAt(START + 40), p0 * 40, "interpolated before first swap");
        assertEq(pool.cumulativeAt(START + 130), p0 * 100 + p2 * 30, "interpolated between blocks");
        uint256 p3 = pool.spotPrice();
        vm.warp(START + 200);
        assertEq(pool.cumulativeAt(START + 190), p0 * 100 + p2 * 60 + p3 * 30, "extrapolated");
        assertEq(pool.twap(START + 100, START + 160), p2, "twap of a constant stretch");
    }

    function test_revert_NotOwner() public {
        vm.prank(address(0xBEEF));
        vm.expectRevert(abi.encodeWithSelector(ConstantProductPool.NotOwner.selector, address(0xBEEF)));
        pool.addLiquidity(1, 1);
    }

    function test_revert_ZeroAmount() public {
        vm.expectRevert(ConstantProductPool.ZeroAmount.selector);
        pool.addLiquidity(0, 1);
        vm.expectRevert(ConstantProductPool.ZeroAmount.selector);
        _buy(0);
    }

    function test_revert_NoLiquidity() public {
        MemeToken other = new MemeToken("Doge", "DOGE");
        ConstantProductPool empty = ConstantProductPool(factory.createPool(address(other)));
        vm.expectRevert(ConstantProductPool.NoLiquidity.selector);
        empty.swap(true, 1e18, 0, address(this));
        vm.expectRevert(ConstantProductPool.NoLiquidity.selector);
        empty.spotPrice();
        vm.expectRevert(ConstantProductPool.NoLiquidity.selector);
        empty.cumulativeAt(block.timestamp);
        vm.expectRevert(ConstantProductPool.NoLiquidity.selector);
        empty.getAmountOut(true, 1);
    }

    function test_revert_InsufficientOutput() public {
        uint256 out = pool.getAmountOut(true, 1e18);
        vm.expectRevert(abi.encodeWithSelector(ConstantProductPool.InsufficientOutput.selector, out, out + 1));
        pool.swap(true, 1e18, out + 1, address(this));
    }

    function test_revert_InsufficientLiquidity() public {
        // 1 wei of T sells for 0 Q.
        vm.expectRevert(abi.encodeWithSelector(ConstantProductPool.InsufficientLiquidity.selector, 0, SEED_Q));
        _sell(1);
    }

    function test_revert_FutureTime_and_EmptyInterval() public {
        vm.expectRevert(abi.encodeWithSelector(ConstantProductPool.FutureTime.selector, START + 1, START));
        pool.cumulativeAt(START + 1);
        vm.expectRevert(abi.encodeWithSelector(ConstantProductPool.EmptyInterval.selector, START, START));
        pool.twap(START, START);
    }

    function test_revert_HistoryUnavailable_beforeCreation() public {
        vm.expectRevert(abi.encodeWithSelector(ConstantProductPool.HistoryUnavailable.selector, START - 1, START));
        pool.cumulativeAt(START - 1);
    }

    /// @notice Property: the oracle never forgets. After 1,030 swaps at distinct timestamps (more than the
    ///         1,024 slots of the v1 ring) every time since creation is still answerable, and exactly.
    function test_historyIsNeverTruncated() public {
        uint256 p0 = pool.spotPrice();
        for (uint256 i = 1; i <= 1030; ++i) {
            vm.warp(START + i * 10);
            _buy(1e15);
        }
        assertEq(pool.observationCount(), 1031, "creation + one per timestamp");
        assertEq(pool.oldestObservationTime(), START, "the creation is still the oldest");
        assertEq(pool.cumulativeAt(START + 5), p0 * 5, "the first stretch is still exact");
        (uint256 ts,) = pool.observation(1030);
        assertEq(ts, START + 10300, "newest");
        // Interpolation agrees with the running accumulator at observation times.
        (uint256 t5, uint256 c5) = pool.observation(500);
        assertEq(pool.cumulativeAt(t5), c5, "cumulativeAt at an observation time");
        vm.expectRevert(abi.encodeWithSelector(ConstantProductPool.HistoryUnavailable.selector, 1031, 1031));
        pool.observation(1031);
    }

    /// @notice `lastSwapAt` records the payer of a swap, never the recipient: a third party cannot make anybody
    ///         look like a trader by sending it tokens.
    function test_lastSwapAtRecordsThePayerOnly() public {
        address recipient = address(0xBEEF);
        assertEq(pool.lastSwapAt(address(this)), 0, "never traded");
        vm.warp(START + 33);
        pool.swap(true, 1e18, 0, recipient);
        assertEq(pool.lastSwapAt(address(this)), START + 33, "payer recorded");
        assertEq(pool.lastSwapAt(recipient), 0, "recipient not recorded");
    }

    function test_revert_IdenticalTokens() public {
        vm.expectRevert(ConstantProductPool.IdenticalTokens.selector);
        new ConstantProductPool(address(quote), address(quote), address(this));
    }

    function test_revert_Reentrancy() public {
        ReentrantToken evil = new ReentrantToken();
        ConstantProductPool p = new ConstantProductPool(address(quote), address(evil), address(this));
        quote.approve(address(p), type(uint256).max);
        p.addLiquidity(1e18, 1e18);
        evil.arm(p);
        vm.expectRevert(ReentrancyLock.Reentrancy.selector);
        p.swap(false, 1e17, 0, address(this));
    }

    function test_revert_TransferFailed() public {
        FalseToken bad = new FalseToken();
        ConstantProductPool p = new ConstantProductPool(address(quote), address(bad), address(this));
        quote.approve(address(p), type(uint256).max);
        vm.expectRevert(ConstantProductPool.TransferFailed.selector);
        p.addLiquidity(1e18, 1e18);
    }

    function test_revert_CumulativeOverflow() public {
        // A price of 1e58 WAD held for 2e7 s exceeds the 216-bit accumulator of an observation slot.
        MemeToken q2 = new MemeToken("Q2", "Q2");
        MemeToken t2 = new MemeToken("T2", "T2");
        q2.mint(address(this), 1e41);
        t2.mint(address(this), 1e18);
        ConstantProductPool p = new ConstantProductPool(address(q2), address(t2), address(this));
        q2.approve(address(p), type(uint256).max);
        t2.approve(address(p), type(uint256).max);
        p.addLiquidity(1e40, 1);
        uint256 price = p.spotPrice();
        vm.warp(block.timestamp + 2e7);
        vm.expectRevert(abi.encodeWithSelector(ConstantProductPool.CumulativeOverflow.selector, price * 2e7));
        p.swap(true, 1e30, 0, address(this));
    }

    /// @notice The constant product never decreases across any sequence of swaps (the fee only adds to it).
    function testFuzz_kNeverDecreases(uint256[6] memory amounts, bool[6] memory buys, uint256 gapSeed) public {
        uint256 t = START;
        for (uint256 i = 0; i < 6; ++i) {
            t += bound(gapSeed >> (i * 8), 0, 255) % 50;
            vm.warp(t);
            uint256 a = buys[i] ? bound(amounts[i], 1, 5_000e18) : bound(amounts[i], 1, 5_000_000e18);
            uint256 kBefore = pool.reserveQ() * pool.reserveT();
            if (pool.getAmountOut(buys[i], a) == 0) continue; // would revert InsufficientLiquidity
            pool.swap(buys[i], a, 0, address(this));
            assertGe(pool.reserveQ() * pool.reserveT(), kBefore, "k decreased");
        }
    }

    /// @notice twap over the whole history equals an independent time-weighted sum of spot prices.
    function testFuzz_twapMatchesIndependentSum(uint256[5] memory amounts, uint256[5] memory gaps, bool[5] memory buys)
        public
    {
        uint256 t = START;
        uint256 expectedCum = 0;
        uint256 price = pool.spotPrice();
        for (uint256 i = 0; i < 5; ++i) {
            uint256 gap = bound(gaps[i], 1, 1000);
            t += gap;
            vm.warp(t);
            expectedCum += price * gap;
            uint256 a = buys[i] ? bound(amounts[i], 1e12, 300e18) : bound(amounts[i], 1e15, 300_000e18);
            pool.swap(buys[i], a, 0, address(this));
            price = pool.spotPrice();
        }
        vm.warp(t + 77);
        expectedCum += price * 77;
        assertEq(pool.cumulativeAt(t + 77), expectedCum, "cum");
        assertEq(pool.twap(START, t + 77), expectedCum / (t + 77 - START), "twap");
    }
}
