// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "./utils/Test.sol";
import {PolicyRegistry} from "../../contracts/echo/PolicyRegistry.sol";

/// @notice The registry rules of issue 14, item 8: versions are latest + 1 (no gaps, no 2^64 - 1 bricking), any
///         version can be revoked by its publisher or the owner, and `latestValidVersion` is always the newest
///         version not revoked.
contract PolicyRegistryTest is Test {
    PolicyRegistry internal reg;
    address internal trainer = address(0x7EA1);
    address internal stranger = address(0xBAD);
    /// @dev Any 32-byte digest; keccak256 of a literal folds at compile time (a sha256() constant would be a
    ///      precompile call at every use and consume vm.expectRevert).
    bytes32 internal constant DIGEST = keccak256("weights-v1");

    event PolicyPublished(uint64 indexed version, bytes32 sha256, string uri, address indexed publisher);
    event PolicyRevoked(uint64 indexed version, address indexed by, string reason, uint64 latestValid);
    event PolicyServed(address indexed sampler, uint64 indexed version, bytes32 sha256);

    function setUp() public {
        vm.warp(1_700_000_000);
        reg = new PolicyRegistry();
    }

    function _publishN(uint64 n) internal {
        for (uint64 v = reg.latestVersion() + 1; v <= n; ++v) {
            reg.publish(v, bytes32(uint256(v)), "u");
        }
    }

    function test_ownerIsPublisher_andPublishes() public {
        assertEq(reg.owner(), address(this), "owner");
        assertTrue(reg.isPublisher(address(this)), "owner publishes");
        assertEq(reg.latestVersion(), 0, "nothing yet");
        vm.expectEmit(true, true, false, true, address(reg));
        emit PolicyPublished(1, DIGEST, "file:///tmp/policy-v1.safetensors", address(this));
        reg.publish(1, DIGEST, "file:///tmp/policy-v1.safetensors");
        assertEq(reg.latestVersion(), 1, "latest");
        assertEq(reg.latestValidVersion(), 1, "latest valid");
        (bytes32 d, string memory uri, uint64 at, address by, bool revoked) = reg.getPolicy(1);
        assertEq(d, DIGEST, "digest");
        assertEq(uri, "file:///tmp/policy-v1.safetensors", "uri");
        assertEq(at, 1_700_000_000, "publishedAt");
        assertEq(by, address(this), "publisher");
        assertFalse(revoked, "not revoked");
    }

    /// @notice Property: the only version `publish` accepts is latestVersion + 1 — no gap, no repeat, no zero,
    ///         and in particular not 2^64 - 1, so no key can brick the registry.
    function test_versionsMustBeLatestPlusOne() public {
        vm.expectRevert(abi.encodeWithSelector(PolicyRegistry.VersionNotNext.selector, uint64(1), uint64(0)));
        reg.publish(0, DIGEST, "zero is never next");
        vm.expectRevert(
            abi.encodeWithSelector(PolicyRegistry.VersionNotNext.selector, uint64(1), type(uint64).max)
        );
        reg.publish(type(uint64).max, DIGEST, "the v1 brick");
        reg.publish(1, DIGEST, "a");
        vm.expectRevert(abi.encodeWithSelector(PolicyRegistry.VersionNotNext.selector, uint64(2), uint64(3)));
        reg.publish(3, DIGEST, "gap");
        vm.expectRevert(abi.encodeWithSelector(PolicyRegistry.VersionNotNext.selector, uint64(2), uint64(1)));
        reg.publish(1, DIGEST, "repeat");
        reg.publish(2, keccak256("v2"), "b");
        assertEq(reg.latestVersion(), 2, "consecutive");
        (bytes32 d,,,,) = reg.getPolicy(1);
        assertEq(d, DIGEST, "older versions stay readable");
        vm.expectRevert(abi.encodeWithSelector(PolicyRegistry.UnknownVersion.selector, uint64(5)));
        reg.getPolicy(5);
    }

    /// @notice Property (fuzzed): whatever versions a publisher sends, exactly the consecutive ones are accepted
    ///         and the next expected version always stays latest + 1 (publishing can never be blocked).
    function testFuzz_onlyLatestPlusOneIsAccepted(uint64[8] memory versions) public {
        for (uint256 i; i < versions.length; ++i) {
            uint64 v = i % 2 == 0 ? versions[i] : reg.latestVersion() + 1; // half attacks, half honest
            uint64 expected = reg.latestVersion() + 1;
            if (v == expected) {
                reg.publish(v, bytes32(uint256(v) + 1), "u");
                assertEq(reg.latestVersion(), expected, "advanced by one");
            } else {
                vm.expectRevert(abi.encodeWithSelector(PolicyRegistry.VersionNotNext.selector, expected, v));
                reg.publish(v, bytes32(uint256(v) + 1), "u");
                assertEq(reg.latestVersion(), expected - 1, "unchanged");
            }
        }
        uint64 next = reg.latestVersion() + 1;
        reg.publish(next, DIGEST, "still publishable");
    }

    function test_revokeByOwnerAndByItsPublisher() public {
        reg.setPublisher(trainer, true);
        vm.prank(trainer);
        reg.publish(1, DIGEST, "a");
        reg.publish(2, DIGEST, "b");
        vm.expectEmit(true, true, false, true, address(reg));
        emit PolicyRevoked(2, address(this), "diverged", 1);
        reg.revoke(2, "diverged"); // the owner
        assertTrue(reg.isRevoked(2), "revoked");
        (,,,, bool revoked) = reg.getPolicy(2);
        assertTrue(revoked, "still readable, flagged");
        assertEq(reg.latestValidVersion(), 1, "back to v1");
        assertEq(reg.latestVersion(), 2, "latest published unchanged");
        vm.prank(trainer);
        reg.revoke(1, "bad file"); // its publisher
        assertEq(reg.latestValidVersion(), 0, "none valid");
        reg.publish(3, DIGEST, "c"); // numbering continues after revoked versions
        assertEq(reg.latestValidVersion(), 3, "v3 valid");
    }

    function test_revoke_errors() public {
        reg.setPublisher(trainer, true);
        reg.publish(1, DIGEST, "a"); // by the owner
        vm.prank(trainer);
        vm.expectRevert(abi.encodeWithSelector(PolicyRegistry.NotRevoker.selector, trainer, uint64(1)));
        reg.revoke(1, "another publisher's version");
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(PolicyRegistry.NotRevoker.selector, stranger, uint64(1)));
        reg.revoke(1, "x");
        vm.expectRevert(abi.encodeWithSelector(PolicyRegistry.UnknownVersion.selector, uint64(9)));
        reg.revoke(9, "x");
        vm.expectRevert(abi.encodeWithSelector(PolicyRegistry.ReasonTooLong.selector, 257, 256));
        reg.revoke(1, string(new bytes(257)));
        reg.revoke(1, "x");
        vm.expectRevert(abi.encodeWithSelector(PolicyRegistry.AlreadyRevoked.selector, uint64(1)));
        reg.revoke(1, "x");
        // A publisher whose key was removed can no longer revoke its own versions.
        vm.prank(trainer);
        reg.publish(2, DIGEST, "b");
        reg.setPublisher(trainer, false);
        vm.prank(trainer);
        vm.expectRevert(abi.encodeWithSelector(PolicyRegistry.NotRevoker.selector, trainer, uint64(2)));
        reg.revoke(2, "x");
    }

    /// @notice Property (fuzzed): after any sequence of publications and revocations, `latestValidVersion` is the
    ///         highest version never revoked (computed here independently), and every flag matches.
    function testFuzz_latestValidIsTheNewestNonRevoked(uint256 opsSeed) public {
        bool[33] memory gone;
        for (uint256 i; i < 40; ++i) {
            uint256 r = uint256(keccak256(abi.encode(opsSeed, i)));
            uint64 latest = reg.latestVersion();
            if (latest == 0 || (r % 3 == 0 && latest < 32)) {
                reg.publish(latest + 1, bytes32(r | 1), "u");
            } else {
                uint64 v = uint64(1 + (r >> 8) % latest);
                if (gone[v]) {
                    vm.expectRevert(abi.encodeWithSelector(PolicyRegistry.AlreadyRevoked.selector, v));
                    reg.revoke(v, "");
                } else {
                    reg.revoke(v, "");
                    gone[v] = true;
                }
            }
            uint64 expected;
            for (uint64 v = reg.latestVersion(); v > 0; --v) {
                if (!gone[v]) {
                    expected = v;
                    break;
                }
            }
            assertEq(reg.latestValidVersion(), expected, "latest valid = newest non-revoked");
        }
        for (uint64 v = 1; v <= reg.latestVersion(); ++v) {
            assertEq(reg.isRevoked(v), gone[v], "revocation flag");
        }
    }

    function test_publisherManagement() public {
        vm.prank(trainer);
        vm.expectRevert(abi.encodeWithSelector(PolicyRegistry.NotPublisher.selector, trainer));
        reg.publish(1, DIGEST, "x");
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(PolicyRegistry.NotOwner.selector, stranger));
        reg.setPublisher(stranger, true);
        reg.setPublisher(trainer, true);
        vm.prank(trainer);
        reg.publish(1, DIGEST, "x");
        (,,, address by,) = reg.getPolicy(1);
        assertEq(by, trainer, "publisher recorded");
        reg.setPublisher(trainer, false);
        vm.prank(trainer);
        vm.expectRevert(abi.encodeWithSelector(PolicyRegistry.NotPublisher.selector, trainer));
        reg.publish(2, DIGEST, "y");
    }

    function test_inputValidation() public {
        vm.expectRevert(PolicyRegistry.ZeroDigest.selector);
        reg.publish(1, bytes32(0), "x");
        vm.expectRevert(abi.encodeWithSelector(PolicyRegistry.UriTooLong.selector, 1025, 1024));
        reg.publish(1, DIGEST, string(new bytes(1025)));
        reg.publish(1, DIGEST, string(new bytes(1024)));
        assertEq(reg.latestVersion(), 1, "limit inclusive");
        _publishN(3);
        assertEq(reg.latestVersion(), 3, "helper");
    }

    /// @notice Property: a sampler's announcement names a version it could have verified — published, not revoked,
    ///         with the recorded digest — and is attributed to the sampler's own address; (0, 0) means "stopped".
    function test_announceServing_onlyWhatTheRecordHolds() public {
        address sampler = address(0x5A);
        vm.expectRevert(abi.encodeWithSelector(PolicyRegistry.UnknownVersion.selector, uint64(1)));
        vm.prank(sampler);
        reg.announceServing(1, DIGEST);
        reg.publish(1, DIGEST, "u1");
        reg.publish(2, keccak256("weights-v2"), "u2");
        vm.expectRevert(
            abi.encodeWithSelector(PolicyRegistry.DigestMismatch.selector, uint64(1), DIGEST, keccak256("other"))
        );
        vm.prank(sampler);
        reg.announceServing(1, keccak256("other"));
        vm.expectRevert(abi.encodeWithSelector(PolicyRegistry.UnknownVersion.selector, uint64(0)));
        vm.prank(sampler);
        reg.announceServing(0, DIGEST);
        vm.expectEmit(true, true, false, true, address(reg));
        emit PolicyServed(sampler, 1, DIGEST);
        vm.prank(sampler);
        reg.announceServing(1, DIGEST);
        reg.revoke(1, "bad");
        vm.expectRevert(abi.encodeWithSelector(PolicyRegistry.RevokedVersion.selector, uint64(1)));
        vm.prank(sampler);
        reg.announceServing(1, DIGEST);
        vm.expectEmit(true, true, false, true, address(reg));
        emit PolicyServed(sampler, 0, bytes32(0));
        vm.prank(sampler);
        reg.announceServing(0, bytes32(0));
    }
}
