// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Owned} from "../lib/Owned.sol";

/// @title MemeToken
/// @notice Minimal ERC-20 for the Hide-and-Shill market: the quote token and every meme token are instances.
/// @dev Why our own: the repository builds offline with no external imports. Only the deployer (the market
///      operator) may mint, so the simulator can fund its accounts; every balance change emits `Transfer`, which
///      the off-chain reader folds into holder concentration. The minter is the `Owned` owner (`minter()` is kept
///      as the name the market tooling reads); a non-owner mint reverts `NotMinter`.
contract MemeToken is Owned {
    string public name;
    string public symbol;
    uint8 public constant decimals = 18;
    uint256 public totalSupply;

    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    error NotMinter(address caller);
    error InsufficientBalance(address account, uint256 balance, uint256 needed);
    error InsufficientAllowance(address owner, address spender, uint256 allowance, uint256 needed);
    error ZeroAddress();

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    constructor(string memory name_, string memory symbol_) Owned(msg.sender) {
        name = name_;
        symbol = symbol_;
    }

    /// @notice The account allowed to mint: the owner (the deployer unless ownership was transferred).
    function minter() external view returns (address) {
        return owner;
    }

    /// @notice Mint `amount` to `to`; only the minter.
    function mint(address to, uint256 amount) external onlyOwner {
        if (to == address(0)) revert ZeroAddress();
        totalSupply += amount;
        unchecked {
            // cannot overflow: the checked totalSupply increment above bounds every balance, and balances sum to it
            balanceOf[to] += amount;
        }
        emit Transfer(address(0), to, amount);
    }

    function approve(address spender, uint256 amount) external returns (bool) {
        allowance[msg.sender][spender] = amount;
        emit Approval(msg.sender, spender, amount);
        return true;
    }

    function transfer(address to, uint256 amount) external returns (bool) {
        _transfer(msg.sender, to, amount);
        return true;
    }

    /// @notice Spend an allowance; `type(uint256).max` is an infinite approval and is never decreased.
    function transferFrom(address from, address to, uint256 amount) external returns (bool) {
        uint256 allowed = allowance[from][msg.sender];
        if (allowed != type(uint256).max) {
            if (allowed < amount) revert InsufficientAllowance(from, msg.sender, allowed, amount);
            unchecked {
                // cannot underflow: allowed >= amount was checked just above
                allowance[from][msg.sender] = allowed - amount;
            }
        }
        _transfer(from, to, amount);
        return true;
    }

    function _transfer(address from, address to, uint256 amount) private {
        if (to == address(0)) revert ZeroAddress();
        uint256 bal = balanceOf[from];
        if (bal < amount) revert InsufficientBalance(from, bal, amount);
        unchecked {
            // cannot under/overflow: bal >= amount was checked above, and balances sum to totalSupply <= 2^256-1
            balanceOf[from] = bal - amount;
            balanceOf[to] += amount;
        }
        emit Transfer(from, to, amount);
    }

    function _revertNotOwner() internal view override {
        revert NotMinter(msg.sender);
    }
}
