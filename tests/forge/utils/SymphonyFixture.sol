// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "./Test.sol";
import {Vectors} from "./Vectors.sol";
import {CapabilityLedger} from "../../../contracts/CapabilityLedger.sol";
import {TaskBeacon} from "../../../contracts/TaskBeacon.sol";
import {VoteCommitment} from "../../../contracts/VoteCommitment.sol";

/// @notice The three core contracts deployed and wired exactly like chain/deploy.py does (ledger authorises the
///         beacon and the vote), plus helpers for agents. The test contract is owner and requester.
abstract contract SymphonyFixture is Test {
    uint256 internal constant T0 = 1_000_000;
    uint256 internal constant MIN_STAKE = 1 ether;
    uint64 internal constant COOLDOWN = 1 days;
    uint256 internal constant MAX_PAYLOAD = 8192;
    uint64 internal constant COMMIT_WINDOW = 600;
    uint64 internal constant REVEAL_WINDOW = 600;
    uint32 internal constant BID_WINDOW = 60;
    uint32 internal constant EXEC_WINDOW = 300;
    bytes32 internal constant TASK = keccak256("task-1");

    CapabilityLedger internal ledger;
    TaskBeacon internal beacon;
    VoteCommitment internal votes;

    function setUp() public virtual {
        vm.warp(T0);
        ledger = new CapabilityLedger(MIN_STAKE, COOLDOWN);
        beacon = new TaskBeacon(address(ledger), MAX_PAYLOAD);
        votes = new VoteCommitment(address(ledger), address(beacon), COMMIT_WINDOW, REVEAL_WINDOW);
        ledger.setAuthorized(address(beacon), true);
        ledger.setAuthorized(address(votes), true);
    }

    /// @dev Refunds come back to the test contract (the requester).
    receive() external payable {}

    function _agent(uint256 i) internal returns (address who) {
        who = vm.addr(0xA11CE + i);
        vm.label(who, string.concat("agent", _u(i)));
    }

    function _tags() internal pure returns (string[] memory tags) {
        tags = new string[](2);
        tags[0] = "math";
        tags[1] = "code";
    }

    function _register(address who, bytes32 capability) internal {
        vm.deal(who, 10 ether);
        vm.prank(who);
        ledger.register{value: MIN_STAKE}("agent", "smollm2-135m", "http://127.0.0.1:8000", _tags(), capability, 4);
    }

    /// @dev Registers agents 0..n-1; agent i's vector is e0·100 + e1·(10·i), so lower i matches e0 better.
    function _registerMany(uint256 n) internal returns (address[] memory agents) {
        agents = new address[](n);
        for (uint256 i; i < n; ++i) {
            agents[i] = _agent(i);
            bytes32 cap = Vectors.set(Vectors.unit(0, 100), 1, int8(int256(10 * i)));
            _register(agents[i], cap);
        }
    }

    function _post(bytes32 taskId, uint16 cotIndex, uint8 k, bool isFinal, uint256 reward)
        internal
        returns (uint256)
    {
        return beacon.postBeacon{value: reward}(
            taskId, cotIndex, 0, Vectors.unit(0, 100), bytes("solve: 2+2"), BID_WINDOW, EXEC_WINDOW, k, false, isFinal
        );
    }

    function _bid(address who, uint256 beaconId) internal {
        vm.prank(who);
        beacon.bid(beaconId);
    }

    function _submit(address who, uint256 beaconId, bytes memory result) internal {
        vm.prank(who);
        beacon.submitResult(beaconId, result);
    }

    function _closeAfterWindow(uint256 beaconId) internal {
        vm.warp(block.timestamp + BID_WINDOW + 1);
        beacon.close(beaconId);
    }

    /// @dev One final beacon on TASK/cot `cotIndex` executed and delivered by `agents`.
    function _deliveredFinal(address[] memory agents, uint16 cotIndex) internal returns (uint256 id) {
        id = _post(TASK, cotIndex, uint8(agents.length), true, 0);
        for (uint256 i; i < agents.length; ++i) {
            _bid(agents[i], id);
        }
        _closeAfterWindow(id);
        for (uint256 i; i < agents.length; ++i) {
            _submit(agents[i], id, bytes("4"));
        }
    }

    function _commitment(bytes32 taskId, address voter, string memory answer, bytes32 cotHash, bytes32 salt)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(taskId, voter, answer, cotHash, salt));
    }

    function _commit(address who, uint256 beaconId, string memory answer) internal {
        vm.prank(who);
        votes.commit(TASK, beaconId, _commitment(TASK, who, answer, keccak256("cot"), bytes32(uint256(uint160(who)))));
    }

    function _reveal(address who, string memory answer) internal {
        vm.prank(who);
        votes.reveal(TASK, answer, keccak256("cot"), bytes32(uint256(uint160(who))));
    }
}
