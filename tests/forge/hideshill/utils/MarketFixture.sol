// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {HSTest} from "./HSTest.sol";
import {MemeToken} from "../../../../contracts/hideshill/MemeToken.sol";
import {ConstantProductPool} from "../../../../contracts/hideshill/ConstantProductPool.sol";
import {PoolFactory} from "../../../../contracts/hideshill/PoolFactory.sol";

/// @notice One quote token, one meme token and its pool seeded at `START` with 1 000 Q / 1 000 000 T
///         (spot price 1e15 WAD). The test contract is owner, minter and trader.
abstract contract MarketFixture is HSTest {
    uint256 internal constant START = 1_000_000;
    uint256 internal constant SEED_Q = 1_000e18;
    uint256 internal constant SEED_T = 1_000_000e18;

    MemeToken internal quote;
    MemeToken internal meme;
    PoolFactory internal factory;
    ConstantProductPool internal pool;

    function setUp() public virtual {
        vm.warp(START);
        quote = new MemeToken("Quote", "QUOTE");
        meme = new MemeToken("Pepe", "PEPE");
        factory = new PoolFactory(address(quote));
        pool = ConstantProductPool(factory.createPool(address(meme)));
        quote.mint(address(this), 1e30);
        meme.mint(address(this), 1e30);
        quote.approve(address(pool), type(uint256).max);
        meme.approve(address(pool), type(uint256).max);
        pool.addLiquidity(SEED_Q, SEED_T);
    }

    function _buy(uint256 amountQ) internal returns (uint256) {
        return pool.swap(true, amountQ, 0, address(this));
    }

    function _sell(uint256 amountT) internal returns (uint256) {
        return pool.swap(false, amountT, 0, address(this));
    }
}
