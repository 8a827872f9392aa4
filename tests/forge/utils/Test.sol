// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice The Foundry cheatcodes the Symphony suites use (forge-std is not available offline, so this is the
///         subset we rely on, declared with Foundry's exact signatures).
interface Vm {
    function warp(uint256 timestamp) external;
    function roll(uint256 blockNumber) external;
    function prank(address sender) external;
    function startPrank(address sender) external;
    function stopPrank() external;
    function deal(address account, uint256 balance) external;
    function expectRevert(bytes calldata revertData) external;
    function expectRevert(bytes4 selector) external;
    function expectRevert() external;
    function expectEmit(bool checkTopic1, bool checkTopic2, bool checkTopic3, bool checkData) external;
    function expectEmit(bool checkTopic1, bool checkTopic2, bool checkTopic3, bool checkData, address emitter)
        external;
    function assume(bool condition) external pure;
    function addr(uint256 privateKey) external pure returns (address);
    function label(address account, string calldata newLabel) external;
    /// @dev Marks an account's storage (and the account) cold again, so gas is measured as in a fresh tx.
    function cool(address target) external;

    struct Log {
        bytes32[] topics;
        bytes data;
        address emitter;
    }

    function recordLogs() external;
    function getRecordedLogs() external returns (Log[] memory);
}

/// @title Test
/// @notice Minimal shared test base: the cheatcode handle, assertions that revert with a message (forge reports
///         a reverting test as failed), `bound` for fuzz inputs, DSTest-style log events (shown by `forge -vv`)
///         and the invariant-target hooks forge looks up by name (`targetContracts`, `targetSelectors`,
///         `targetSenders`).
abstract contract Test {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    event log_named_uint(string key, uint256 val);
    event log_named_int(string key, int256 val);
    event log_string(string val);

    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    address[] private _targetedContracts;
    FuzzSelector[] private _targetedSelectors;
    address[] private _targetedSenders;

    // ------------------------------------------------------------------ invariant hooks

    function targetContract(address target) internal {
        _targetedContracts.push(target);
    }

    function targetSelector(FuzzSelector memory selector) internal {
        _targetedSelectors.push(selector);
    }

    function targetSender(address sender) internal {
        _targetedSenders.push(sender);
    }

    function targetContracts() public view returns (address[] memory) {
        return _targetedContracts;
    }

    function targetSelectors() public view returns (FuzzSelector[] memory) {
        return _targetedSelectors;
    }

    function targetSenders() public view returns (address[] memory) {
        return _targetedSenders;
    }

    // ------------------------------------------------------------------ assertions

    function assertTrue(bool cond, string memory what) internal pure {
        if (!cond) revert(string.concat("assertTrue failed: ", what));
    }

    function assertFalse(bool cond, string memory what) internal pure {
        if (cond) revert(string.concat("assertFalse failed: ", what));
    }

    function assertEq(uint256 a, uint256 b, string memory what) internal pure {
        if (a != b) revert(string.concat("assertEq failed: ", what, ": ", _u(a), " != ", _u(b)));
    }

    function assertEq(int256 a, int256 b, string memory what) internal pure {
        if (a != b) revert(string.concat("assertEq failed: ", what, ": ", _i(a), " != ", _i(b)));
    }

    function assertEq(bool a, bool b, string memory what) internal pure {
        if (a != b) revert(string.concat("assertEq(bool) failed: ", what));
    }

    function assertEq(address a, address b, string memory what) internal pure {
        if (a != b) revert(string.concat("assertEq(address) failed: ", what));
    }

    function assertEq(bytes32 a, bytes32 b, string memory what) internal pure {
        if (a != b) revert(string.concat("assertEq(bytes32) failed: ", what));
    }

    function assertEq(string memory a, string memory b, string memory what) internal pure {
        if (keccak256(bytes(a)) != keccak256(bytes(b))) {
            revert(string.concat("assertEq(string) failed: ", what, ": '", a, "' != '", b, "'"));
        }
    }

    function assertGe(uint256 a, uint256 b, string memory what) internal pure {
        if (a < b) revert(string.concat("assertGe failed: ", what, ": ", _u(a), " < ", _u(b)));
    }

    function assertLe(uint256 a, uint256 b, string memory what) internal pure {
        if (a > b) revert(string.concat("assertLe failed: ", what, ": ", _u(a), " > ", _u(b)));
    }

    function assertGt(uint256 a, uint256 b, string memory what) internal pure {
        if (a <= b) revert(string.concat("assertGt failed: ", what, ": ", _u(a), " <= ", _u(b)));
    }

    function assertLt(uint256 a, uint256 b, string memory what) internal pure {
        if (a >= b) revert(string.concat("assertLt failed: ", what, ": ", _u(a), " >= ", _u(b)));
    }

    /// @notice Map `x` into [lo, hi] without discarding fuzz runs.
    function bound(uint256 x, uint256 lo, uint256 hi) internal pure returns (uint256) {
        require(lo <= hi, "bound: lo > hi");
        if (x >= lo && x <= hi) return x;
        return lo + (x % (hi - lo + 1));
    }

    function _u(uint256 v) internal pure returns (string memory) {
        if (v == 0) return "0";
        bytes memory buf = new bytes(78);
        uint256 i = buf.length;
        while (v != 0) {
            buf[--i] = bytes1(uint8(48 + (v % 10)));
            v /= 10;
        }
        bytes memory out = new bytes(buf.length - i);
        for (uint256 j; j < out.length; ++j) {
            out[j] = buf[i + j];
        }
        return string(out);
    }

    function _i(int256 v) internal pure returns (string memory) {
        if (v >= 0) return _u(uint256(v));
        return string.concat("-", _u(v == type(int256).min ? uint256(type(int256).max) + 1 : uint256(-v)));
    }
}
