// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {HSTest} from "./utils/HSTest.sol";
import {MemeToken} from "../../../contracts/hideshill/MemeToken.sol";
import {ConstantProductPool} from "../../../contracts/hideshill/ConstantProductPool.sol";
import {PoolFactory} from "../../../contracts/hideshill/PoolFactory.sol";

contract PoolFactoryTest is HSTest {
    PoolFactory internal factory;
    MemeToken internal quote;

    function setUp() public {
        quote = new MemeToken("Quote", "Q");
        factory = new PoolFactory(address(quote));
    }

    function test_createPoolRegistersAndPages() public {
        address[] memory made = new address[](3);
        for (uint256 i = 0; i < 3; ++i) {
            MemeToken m = new MemeToken("M", "M");
            made[i] = factory.createPool(address(m));
            assertEq(factory.poolOf(address(m)), made[i], "poolOf");
            assertTrue(factory.isPool(made[i]), "isPool");
            assertEq(ConstantProductPool(made[i]).memeToken(), address(m), "meme");
            assertEq(ConstantProductPool(made[i]).quoteToken(), address(quote), "quote");
            assertEq(ConstantProductPool(made[i]).owner(), address(this), "pool owner is the creator");
        }
        assertEq(factory.poolCount(), 3, "count");
        address[] memory page = factory.getPools(1, 5);
        assertEq(page.length, 2, "page length");
        assertEq(page[0], made[1], "page[0]");
        assertEq(page[1], made[2], "page[1]");
        assertEq(factory.getPools(3, 5).length, 0, "past the end");
        assertTrue(!factory.isPool(address(quote)), "a token is not a pool");
    }

    function test_revert_PoolExists() public {
        MemeToken m = new MemeToken("M", "M");
        address p = factory.createPool(address(m));
        vm.expectRevert(abi.encodeWithSelector(PoolFactory.PoolExists.selector, address(m), p));
        factory.createPool(address(m));
    }

    function test_revert_NotOwner() public {
        vm.prank(address(0xBAD));
        vm.expectRevert(abi.encodeWithSelector(PoolFactory.NotOwner.selector, address(0xBAD)));
        factory.createPool(address(0x1234));
    }

    /// @dev Pools are owned by the factory owner at creation time, and a transferred factory hands the next
    ///      pools to its new owner (not to the factory contract, not to the old owner).
    function test_ownershipTransferRoutesNewPools() public {
        address next = address(0xCAFE);
        factory.transferOwnership(next);
        assertEq(factory.owner(), next, "factory owner");
        MemeToken m = new MemeToken("N", "N");
        vm.expectRevert(abi.encodeWithSelector(PoolFactory.NotOwner.selector, address(this)));
        factory.createPool(address(m));
        vm.prank(next);
        ConstantProductPool p = ConstantProductPool(factory.createPool(address(m)));
        assertEq(p.owner(), next, "pool owner is the creating owner");
        vm.expectRevert(abi.encodeWithSelector(ConstantProductPool.NotOwner.selector, address(this)));
        p.addLiquidity(1, 1);
    }

    function test_revert_ZeroAddress() public {
        vm.expectRevert(PoolFactory.ZeroAddress.selector);
        factory.createPool(address(0));
        vm.expectRevert(PoolFactory.ZeroAddress.selector);
        new PoolFactory(address(0));
    }

    function test_revert_PageTooLarge() public {
        vm.expectRevert(abi.encodeWithSelector(PoolFactory.PageTooLarge.selector, 101, 100));
        factory.getPools(0, 101);
    }
}
