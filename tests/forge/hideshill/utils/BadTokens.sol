// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ConstantProductPool} from "../../../../contracts/hideshill/ConstantProductPool.sol";

/// @notice A token whose transfers succeed without moving anything and, when armed, re-enter the pool.
contract ReentrantToken {
    ConstantProductPool public pool;
    bool public armed;

    function arm(ConstantProductPool pool_) external {
        pool = pool_;
        armed = true;
    }

    function transfer(address, uint256) external pure returns (bool) {
        return true;
    }

    function transferFrom(address, address, uint256) external returns (bool) {
        if (armed) pool.swap(true, 1e18, 0, address(this));
        return true;
    }
}

/// @notice A token whose transfers report failure by returning false.
contract FalseToken {
    function transfer(address, uint256) external pure returns (bool) {
        return false;
    }

    function transferFrom(address, address, uint256) external pure returns (bool) {
        return false;
    }
}
