// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ConstantProductPool} from "./ConstantProductPool.sol";
import {Owned} from "../lib/Owned.sol";

/// @title PoolFactory
/// @notice Creates and registers one `ConstantProductPool` per meme token against a single quote token.
/// @dev Why a registry: `EvaluationLog` only scores predictions on pools this factory created, so a detector
///      cannot point the resolver at a contract that reports whatever price it likes. The deployer owns it
///      through `Owned`: only the owner creates pools, and each pool's liquidity owner is the factory owner at the
///      time of creation.
contract PoolFactory is Owned {
    /// @notice Maximum page size of `getPools`.
    uint256 public constant MAX_PAGE = 100;

    address public immutable quoteToken;

    address[] internal _pools;
    mapping(address => address) public poolOf; // meme token => pool
    mapping(address => bool) public isPool;

    error NotOwner(address caller);
    error PoolExists(address memeToken, address pool);
    error ZeroAddress();
    error PageTooLarge(uint256 limit, uint256 maximum);

    event PoolCreated(address indexed memeToken, address indexed pool, uint256 index);

    constructor(address quoteToken_) Owned(msg.sender) {
        if (quoteToken_ == address(0)) revert ZeroAddress();
        quoteToken = quoteToken_;
    }

    /// @notice Deploy the pool for `memeToken`; the caller (the owner) becomes the pool's liquidity owner.
    function createPool(address memeToken) external onlyOwner returns (address pool) {
        if (memeToken == address(0)) revert ZeroAddress();
        address existing = poolOf[memeToken];
        if (existing != address(0)) revert PoolExists(memeToken, existing);
        pool = address(new ConstantProductPool(quoteToken, memeToken, msg.sender));
        poolOf[memeToken] = pool;
        isPool[pool] = true;
        _pools.push(pool);
        emit PoolCreated(memeToken, pool, _pools.length - 1);
    }

    function poolCount() external view returns (uint256) {
        return _pools.length;
    }

    /// @notice Pools in creation order, at most `limit` (<= MAX_PAGE) from `offset`.
    function getPools(uint256 offset, uint256 limit) external view returns (address[] memory page) {
        if (limit > MAX_PAGE) revert PageTooLarge(limit, MAX_PAGE);
        uint256 n = _pools.length;
        if (offset >= n) return new address[](0);
        uint256 end = offset + limit > n ? n : offset + limit;
        page = new address[](end - offset);
        for (uint256 i = offset; i < end; ++i) {
            page[i - offset] = _pools[i];
        }
    }

    function _revertNotOwner() internal view override {
        revert NotOwner(msg.sender);
    }
}
