// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {HSTest} from "./utils/HSTest.sol";
import {MemeToken} from "../../../contracts/hideshill/MemeToken.sol";
import {ConstantProductPool} from "../../../contracts/hideshill/ConstantProductPool.sol";
import {PoolFactory} from "../../../contracts/hideshill/PoolFactory.sol";

/// @notice Random buys, sells and clock moves against one pool, with what must hold after every step.
/// @dev The step checks record a violation instead of reverting: with `fail_on_revert = false` (foundry.toml) a
///      `require` here would only make forge discard the call, rolling back the very swap that broke the rule,
///      so the invariant below would never see it.
contract PoolHandler is HSTest {
    MemeToken public quote;
    MemeToken public meme;
    ConstantProductPool public pool;
    uint256 public lastK;
    uint256 public lastCum;
    uint256 public lastCumTime;
    uint256 public swaps;
    /// @notice The first step rule broken during the run ("" while none).
    string public violation;

    constructor() {
        quote = new MemeToken("Quote", "Q");
        meme = new MemeToken("Meme", "M");
        PoolFactory factory = new PoolFactory(address(quote));
        pool = ConstantProductPool(factory.createPool(address(meme)));
        quote.mint(address(this), 1e36);
        meme.mint(address(this), 1e36);
        quote.approve(address(pool), type(uint256).max);
        meme.approve(address(pool), type(uint256).max);
        pool.addLiquidity(1_000e18, 1_000_000e18);
        lastK = pool.reserveQ() * pool.reserveT();
        lastCumTime = block.timestamp;
    }

    function buy(uint256 amount) external {
        amount = bound(amount, 1, 10_000e18);
        if (pool.getAmountOut(true, amount) == 0) return;
        pool.swap(true, amount, 0, address(this));
        _after();
    }

    function sell(uint256 amount) external {
        amount = bound(amount, 1, 10_000_000e18);
        if (pool.getAmountOut(false, amount) == 0) return;
        pool.swap(false, amount, 0, address(this));
        _after();
    }

    function wait(uint256 secondsAhead) external {
        vm.warp(block.timestamp + bound(secondsAhead, 0, 3_600));
        _after();
    }

    function _after() private {
        uint256 k = pool.reserveQ() * pool.reserveT();
        if (k < lastK) _violate("k decreased");
        lastK = k;
        uint256 cum = pool.cumulativeAt(block.timestamp);
        if (cum < lastCum) _violate("cumulative price went down");
        if (block.timestamp < lastCumTime) _violate("time went back");
        lastCum = cum;
        lastCumTime = block.timestamp;
        swaps += 1;
    }

    function _violate(string memory what) private {
        if (bytes(violation).length == 0) violation = what;
    }
}

contract PoolInvariantTest is HSTest {
    PoolHandler internal handler;

    function setUp() public {
        vm.warp(1_000_000);
        handler = new PoolHandler();
        targetContract(address(handler)); // fuzz only the handler
    }

    function invariant_reservesAreBackedByBalances() public view {
        ConstantProductPool pool = handler.pool();
        assertEq(handler.quote().balanceOf(address(pool)), pool.reserveQ(), "quote balance == reserveQ");
        assertEq(handler.meme().balanceOf(address(pool)), pool.reserveT(), "meme balance == reserveT");
    }

    function invariant_kNeverBelowTheLastObserved() public view {
        ConstantProductPool pool = handler.pool();
        assertGe(pool.reserveQ() * pool.reserveT(), handler.lastK(), "k");
    }

    /// @notice No step broke k monotonicity or the monotone cumulative price (checked inside each step).
    function invariant_noStepViolation() public view {
        assertEq(handler.violation(), "", "step rule broken");
    }

    /// @dev The handler's swap paths really trade (so the invariants above are not vacuous).
    function test_handlerStepsTrade() public {
        uint256 k0 = handler.lastK();
        handler.buy(10e18);
        handler.wait(60);
        handler.sell(5_000e18);
        assertEq(handler.swaps(), 3, "three steps recorded");
        assertGt(handler.lastK(), k0, "fees grew k");
        assertGt(handler.lastCum(), 0, "price accumulated");
        assertEq(handler.violation(), "", "no violation");
    }

    function invariant_newestObservationIsTLast() public view {
        ConstantProductPool pool = handler.pool();
        (uint256 ts, uint256 cum) = pool.observation(pool.observationCount() - 1);
        assertEq(ts, pool.tLast(), "newest observation time");
        assertEq(cum, pool.cumulativePrice(), "newest observation cum");
    }
}
