// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Owned} from "../lib/Owned.sol";

/// @title PolicyRegistry
/// @notice Echo's on-chain record of published policy versions: each version's weights digest (sha256 of the
///         weights file, the digest inference workers verify after download), where to fetch it, when and by whom,
///         and whether it was revoked.
/// @dev Why `latest + 1` and not "any larger number": with gaps allowed, one publisher key could publish version
///      2^64 - 1 and no version could ever follow (issue 14, item 8). Consecutive versions also let a sampler tell
///      "newer" from "skipped". Why revocation: a version found bad after publication (diverged training, a
///      leaked or wrong file) must stop being served; the record stays readable (rollouts tagged with it remain
///      auditable) but is flagged, and `latestValidVersion` — the newest version not revoked — is what samplers and
///      trainers follow. The non-revoked versions form a doubly linked list, so revoking is O(1) at any depth.
///      The owner manages the set of publishers (the trainer's key) and is a publisher itself; a version may be
///      revoked by the owner or by the publisher that published it (while it still is one).
///      Why samplers announce what they serve (`announceServing`): which weights answer a request is what a user of
///      the inference swarm wants to audit, and only the sampler knows it. The announcement is a signed claim in an
///      event (no storage: nothing on chain reads it, and a sampler pays only for the log), checked against the
///      record so a sampler cannot claim a revoked version or a digest the registry does not hold.
contract PolicyRegistry is Owned {
    /// @notice Longest accepted URI, in bytes.
    uint256 public constant MAX_URI_BYTES = 1024;
    /// @notice Longest accepted revocation reason, in bytes.
    uint256 public constant MAX_REASON_BYTES = 256;

    struct Policy {
        bytes32 sha256; // slot 0
        uint64 publishedAt; // slot 1
        address publisher;
        bool revoked;
        uint64 prevValid; // slot 2: neighbours in the list of non-revoked versions (0: none)
        uint64 nextValid;
        string uri;
    }

    error NotOwner(address caller);
    error NotPublisher(address caller);
    error VersionNotNext(uint64 expected, uint64 given);
    error ZeroDigest();
    error UriTooLong(uint256 length, uint256 maximum);
    error ReasonTooLong(uint256 length, uint256 maximum);
    error UnknownVersion(uint64 version);
    error AlreadyRevoked(uint64 version);
    error NotRevoker(address caller, uint64 version);
    error DigestMismatch(uint64 version, bytes32 recorded, bytes32 given);
    error RevokedVersion(uint64 version);

    event PolicyPublished(uint64 indexed version, bytes32 sha256, string uri, address indexed publisher);
    /// @notice `version` must no longer be served or trained on; `latestValid` is the newest version that may be.
    event PolicyRevoked(uint64 indexed version, address indexed by, string reason, uint64 latestValid);
    event PublisherSet(address indexed publisher, bool allowed);
    /// @notice `sampler` serves `version` (weights `sha256`) from now on; version 0 (digest 0): it stopped serving.
    event PolicyServed(address indexed sampler, uint64 indexed version, bytes32 sha256);

    /// @notice Highest published version, revoked or not (0 before the first publication); the next is +1.
    uint64 public latestVersion;
    /// @notice Highest published version that is not revoked (0 if none).
    uint64 public latestValidVersion;
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

    /// @notice Publish policy `version` (== latestVersion + 1) whose weights have sha256 `weightsSha256` at `uri`.
    function publish(uint64 version, bytes32 weightsSha256, string calldata uri) external {
        if (!isPublisher[msg.sender]) revert NotPublisher(msg.sender);
        uint64 expected = latestVersion + 1;
        if (version != expected) revert VersionNotNext(expected, version);
        if (weightsSha256 == bytes32(0)) revert ZeroDigest();
        if (bytes(uri).length > MAX_URI_BYTES) revert UriTooLong(bytes(uri).length, MAX_URI_BYTES);
        uint64 previous = latestValidVersion;
        latestVersion = version;
        latestValidVersion = version;
        Policy storage p = _policies[version];
        p.sha256 = weightsSha256;
        // casting is safe because block timestamps fit 64 bits
        // forge-lint: disable-next-line(unsafe-typecast)
        p.publishedAt = uint64(block.timestamp);
        p.publisher = msg.sender;
        p.prevValid = previous;
        p.uri = uri;
        if (previous != 0) _policies[previous].nextValid = version;
        emit PolicyPublished(version, weightsSha256, uri, msg.sender);
    }

    /// @notice Revoke `version`: samplers stop serving it and trainers stop accepting rollouts made with it.
    function revoke(uint64 version, string calldata reason) external {
        Policy storage p = _policies[version];
        if (p.publisher == address(0)) revert UnknownVersion(version);
        if (msg.sender != owner && !(isPublisher[msg.sender] && msg.sender == p.publisher)) {
            revert NotRevoker(msg.sender, version);
        }
        if (p.revoked) revert AlreadyRevoked(version);
        if (bytes(reason).length > MAX_REASON_BYTES) revert ReasonTooLong(bytes(reason).length, MAX_REASON_BYTES);
        p.revoked = true;
        uint64 prev = p.prevValid;
        uint64 next = p.nextValid;
        if (prev != 0) _policies[prev].nextValid = next;
        if (next != 0) _policies[next].prevValid = prev;
        else latestValidVersion = prev;
        p.prevValid = 0;
        p.nextValid = 0;
        emit PolicyRevoked(version, msg.sender, reason, latestValidVersion);
    }

    /// @notice Announce that the caller now serves `version`, whose weights it verified to have sha256
    ///         `weightsSha256`; `announceServing(0, 0)` announces that it stopped serving. Anyone may announce for
    ///         itself; the version must be published, not revoked, and the digest the recorded one.
    function announceServing(uint64 version, bytes32 weightsSha256) external {
        if (version != 0 || weightsSha256 != bytes32(0)) {
            Policy storage p = _policies[version];
            if (p.publisher == address(0)) revert UnknownVersion(version);
            if (p.revoked) revert RevokedVersion(version);
            if (p.sha256 != weightsSha256) revert DigestMismatch(version, p.sha256, weightsSha256);
        }
        emit PolicyServed(msg.sender, version, weightsSha256);
    }

    /// @notice A published policy; reverts UnknownVersion for a version never published.
    function getPolicy(uint64 version)
        external
        view
        returns (bytes32 weightsSha256, string memory uri, uint64 publishedAt, address publisher, bool revoked)
    {
        Policy storage p = _policies[version];
        if (p.publisher == address(0)) revert UnknownVersion(version);
        return (p.sha256, p.uri, p.publishedAt, p.publisher, p.revoked);
    }

    /// @notice Whether `version` was published and then revoked.
    function isRevoked(uint64 version) external view returns (bool) {
        return _policies[version].revoked;
    }

    function _revertNotOwner() internal view override {
        revert NotOwner(msg.sender);
    }
}
