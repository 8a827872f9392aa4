// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {HSTest} from "./utils/HSTest.sol";
import {MemeToken} from "../../../contracts/hideshill/MemeToken.sol";

contract MemeTokenTest is HSTest {
    MemeToken internal token;
    address internal constant ALICE = address(0xA11CE);
    address internal constant BOB = address(0xB0B);

    event Transfer(address indexed from, address indexed to, uint256 value);
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);

    function setUp() public {
        token = new MemeToken("Pepe", "PEPE");
        token.mint(ALICE, 100e18);
    }

    function test_metadataAndMint() public view {
        assertEq(token.decimals(), 18, "decimals");
        assertEq(token.totalSupply(), 100e18, "supply");
        assertEq(token.balanceOf(ALICE), 100e18, "alice");
        assertEq(token.minter(), address(this), "minter");
    }

    function test_mintEmitsTransferFromZero() public {
        vm.expectEmit(true, true, false, true);
        emit Transfer(address(0), BOB, 5);
        token.mint(BOB, 5);
    }

    function test_revert_NotMinter() public {
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(MemeToken.NotMinter.selector, ALICE));
        token.mint(ALICE, 1);
    }

    /// @dev The minter is the Owned owner: handing ownership on moves the mint right, and a stranger's
    ///      transferOwnership reverts with this token's NotMinter, not a generic owner error.
    function test_transferOwnershipMovesMintRight() public {
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(MemeToken.NotMinter.selector, ALICE));
        token.transferOwnership(ALICE);
        vm.expectEmit(true, true, false, false);
        emit OwnershipTransferred(address(this), BOB);
        token.transferOwnership(BOB);
        assertEq(token.minter(), BOB, "minter follows the owner");
        vm.expectRevert(abi.encodeWithSelector(MemeToken.NotMinter.selector, address(this)));
        token.mint(ALICE, 1);
        vm.prank(BOB);
        token.mint(BOB, 7);
        assertEq(token.balanceOf(BOB), 7, "new minter mints");
    }

    function test_revert_ZeroAddress() public {
        vm.expectRevert(MemeToken.ZeroAddress.selector);
        token.mint(address(0), 1);
        vm.prank(ALICE);
        vm.expectRevert(MemeToken.ZeroAddress.selector);
        token.transfer(address(0), 1);
    }

    function test_transferMovesBalance() public {
        vm.prank(ALICE);
        token.transfer(BOB, 40e18);
        assertEq(token.balanceOf(ALICE), 60e18, "alice");
        assertEq(token.balanceOf(BOB), 40e18, "bob");
    }

    function test_revert_InsufficientBalance() public {
        vm.prank(BOB);
        vm.expectRevert(abi.encodeWithSelector(MemeToken.InsufficientBalance.selector, BOB, 0, 1));
        token.transfer(ALICE, 1);
    }

    function test_transferFromSpendsAllowance() public {
        vm.prank(ALICE);
        token.approve(BOB, 10e18);
        vm.prank(BOB);
        token.transferFrom(ALICE, BOB, 4e18);
        assertEq(token.allowance(ALICE, BOB), 6e18, "allowance left");
        assertEq(token.balanceOf(BOB), 4e18, "bob");
    }

    function test_infiniteAllowanceIsNotDecreased() public {
        vm.prank(ALICE);
        token.approve(BOB, type(uint256).max);
        vm.prank(BOB);
        token.transferFrom(ALICE, BOB, 4e18);
        assertEq(token.allowance(ALICE, BOB), type(uint256).max, "still infinite");
    }

    function test_revert_InsufficientAllowance() public {
        vm.prank(ALICE);
        token.approve(BOB, 1e18);
        vm.prank(BOB);
        vm.expectRevert(abi.encodeWithSelector(MemeToken.InsufficientAllowance.selector, ALICE, BOB, 1e18, 2e18));
        token.transferFrom(ALICE, BOB, 2e18);
    }
}
