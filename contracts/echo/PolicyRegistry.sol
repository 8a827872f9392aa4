// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Owned} from "../lib/Owned.sol";

/// @title PolicyRegistry
/// @notice Echo's on-chain record of published policy versions: each version's weights digest (sha256 of the
///         weights file, the digest inference workers verify after download), where to fetch it, when and by whom.
/// @dev Versions strictly increase so a worker that sees version v knows every later announcement is newer; the
///      owner manages the set of publishers (the trainer's key) and is a publisher itself.
contract PolicyRegistry is Owned {
    /// @notice Longest accepted URI, in bytes.
    uint256 public constant MAX_URI_BYTES = 1024;

    struct Policy {
        bytes32 sha256; // slot 0
        uint64 publishedAt; // slot 1
        address publisher;
        string uri;
    }

    error NotOwner(address caller);
    error NotPublisher(address caller);
    error VersionNotIncreasing(uint64 latest, uint64 given);
    error ZeroDigest();
    error UriTooLong(uint256 length, uint256 maximum);
    error UnknownVersion(uint64 version);

    event PolicyPublished(uint64 indexed version, bytes32 sha256, string uri, address indexed publisher);
    event PublisherSet(address indexed publisher, bool allowed);

    /// @notice Highest published version (0 before the first publication).
    uint64 public latestVersion;
    /// @notice Whether `account` may publish.
    mapping(address => bool) public isPublisher;

    mapping(uint64 => Policy) internal _policies;

    constructor() Owned(msg.sender) {
        isPublisher[msg.sender] = true;
        emit PublisherSet(msg.sender, true);
    }

    /// @notice Allow or forbid `publisher` to publish. Owner only.
    function setPublisher(address publisher, bool allowed) external onlyOwner {
        isPublisher[publisher] = allowed;
        emit PublisherSet(publisher, allowed);
    }

    /// @notice Publish policy `version` (> latestVersion) whose weights have sha256 `weightsSha256` at `uri`.
    function publish(uint64 version, bytes32 weightsSha256, string calldata uri) external {
        if (!isPublisher[msg.sender]) revert NotPublisher(msg.sender);
        uint64 latest = latestVersion;
        if (version <= latest) revert VersionNotIncreasing(latest, version);
        if (weightsSha256 == bytes32(0)) revert ZeroDigest();
        if (bytes(uri).length > MAX_URI_BYTES) revert UriTooLong(bytes(uri).length, MAX_URI_BYTES);
        latestVersion = version;
        Policy storage p = _policies[version];
        p.sha256 = weightsSha256;
        p.publishedAt = uint64(block.timestamp);
        p.publisher = msg.sender;
        p.uri = uri;
        emit PolicyPublished(version, weightsSha256, uri, msg.sender);
    }

    /// @notice A published policy; reverts UnknownVersion for a version never published.
    function getPolicy(uint64 version)
        external
        view
        returns (bytes32 sha256, string memory uri, uint64 publishedAt, address publisher)
    {
        Policy storage p = _policies[version];
        if (p.publisher == address(0)) revert UnknownVersion(version);
        return (p.sha256, p.uri, p.publishedAt, p.publisher);
    }

    function _revertNotOwner() internal view override {
        revert NotOwner(msg.sender);
    }
}
