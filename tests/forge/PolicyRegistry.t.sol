// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "./utils/Test.sol";
import {PolicyRegistry} from "../../contracts/echo/PolicyRegistry.sol";

contract PolicyRegistryTest is Test {
    PolicyRegistry internal reg;
    address internal trainer = address(0x7EA1);
    address internal stranger = address(0xBAD);
    /// @dev Any 32-byte digest; keccak256 of a literal folds at compile time (a sha256() constant would be a
    ///      precompile call at every use and consume vm.expectRevert).
    bytes32 internal constant DIGEST = keccak256("weights-v1");

    function setUp() public {
        vm.warp(1_700_000_000);
        reg = new PolicyRegistry();
    }

    function test_ownerIsPublisher_andPublishes() public {
        assertEq(reg.owner(), address(this), "owner");
        assertTrue(reg.isPublisher(address(this)), "owner publishes");
        assertEq(reg.latestVersion(), 0, "nothing yet");
        vm.expectEmit(true, true, false, true, address(reg));
        emit PolicyPublished(1, DIGEST, "file:///tmp/policy-v1.safetensors", address(this));
        reg.publish(1, DIGEST, "file:///tmp/policy-v1.safetensors");
        assertEq(reg.latestVersion(), 1, "latest");
        (bytes32 d, string memory uri, uint64 at, address by) = reg.getPolicy(1);
        assertEq(d, DIGEST, "digest");
        assertEq(uri, "file:///tmp/policy-v1.safetensors", "uri");
        assertEq(at, 1_700_000_000, "publishedAt");
        assertEq(by, address(this), "publisher");
    }

    event PolicyPublished(uint64 indexed version, bytes32 sha256, string uri, address indexed publisher);

    function test_versionsStrictlyIncrease_gapsAllowed() public {
        reg.publish(3, DIGEST, "a");
        vm.expectRevert(abi.encodeWithSelector(PolicyRegistry.VersionNotIncreasing.selector, uint64(3), uint64(3)));
        reg.publish(3, DIGEST, "b");
        vm.expectRevert(abi.encodeWithSelector(PolicyRegistry.VersionNotIncreasing.selector, uint64(3), uint64(2)));
        reg.publish(2, DIGEST, "b");
        PolicyRegistry fresh = new PolicyRegistry();
        vm.expectRevert(abi.encodeWithSelector(PolicyRegistry.VersionNotIncreasing.selector, uint64(0), uint64(0)));
        fresh.publish(0, DIGEST, "zero is never newer than nothing");
        reg.publish(10, keccak256("v10"), "c");
        assertEq(reg.latestVersion(), 10, "gap allowed");
        (bytes32 d,,,) = reg.getPolicy(3);
        assertEq(d, DIGEST, "older versions stay readable");
        vm.expectRevert(abi.encodeWithSelector(PolicyRegistry.UnknownVersion.selector, uint64(5)));
        reg.getPolicy(5);
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
        (,,, address by) = reg.getPolicy(1);
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
    }

    function testFuzz_latestIsMaxOfAcceptedVersions(uint64[6] memory versions) public {
        uint64 latest;
        for (uint256 i; i < versions.length; ++i) {
            uint64 v = versions[i];
            if (v > latest) {
                reg.publish(v, bytes32(uint256(v) + 1), "u");
                latest = v;
            } else {
                vm.expectRevert(abi.encodeWithSelector(PolicyRegistry.VersionNotIncreasing.selector, latest, v));
                reg.publish(v, bytes32(uint256(v) + 1), "u");
            }
            assertEq(reg.latestVersion(), latest, "latest = max accepted");
        }
        if (latest != 0) {
            (bytes32 d,,,) = reg.getPolicy(latest);
            assertEq(d, bytes32(uint256(latest) + 1), "digest of latest");
        }
    }
}
