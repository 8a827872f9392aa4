// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {CapabilityLedger} from "../../../contracts/CapabilityLedger.sol";
import {TaskBeacon} from "../../../contracts/TaskBeacon.sol";
import {ITaskBeacon} from "../../../contracts/interfaces/ITaskBeacon.sol";

/// @notice An agent implemented as a contract, with a configurable reaction to incoming ETH: accept, refuse,
///         or try to re-enter the beacon (recording what the re-entry attempt reverted with).
contract ContractAgent {
    enum Mode {
        Accept,
        Refuse,
        Reenter
    }

    Mode public mode;
    TaskBeacon public beacon;
    uint256 public targetBeacon;
    bytes public reentryError;
    uint256 public received;

    function setMode(Mode m, TaskBeacon b, uint256 beaconId) external {
        mode = m;
        beacon = b;
        targetBeacon = beaconId;
    }

    function join(CapabilityLedger ledger, bytes32 capability) external payable {
        ledger.register{value: msg.value}("contract-agent", "m", "e", new string[](0), capability, 1);
    }

    function bid(TaskBeacon b, uint256 beaconId, bytes32[] calldata requirements) external {
        b.bid(beaconId, requirements);
    }

    function submit(TaskBeacon b, uint256 beaconId, bytes calldata result) external {
        b.submitResult(beaconId, result);
    }

    receive() external payable {
        if (mode == Mode.Refuse) revert("no ETH");
        if (mode == Mode.Reenter) {
            try beacon.reclaimExpired(targetBeacon) {} catch (bytes memory err) {
                reentryError = err;
            }
        }
        received += msg.value;
    }
}

/// @notice A requester that refuses ETH: its refunds are credited, so nobody else's call can be blocked by it.
contract RefusingRequester {
    function post(TaskBeacon b, bytes32 requirement, uint96 reward) external payable returns (bytes32) {
        bytes32[] memory r = new bytes32[](1);
        r[0] = requirement;
        ITaskBeacon.ChainSpec[] memory chains = new ITaskBeacon.ChainSpec[](1);
        chains[0] = ITaskBeacon.ChainSpec(r, "");
        return b.postTask{value: msg.value}(ITaskBeacon.TaskSpec(bytes32(0), 10, 10, 1, reward), chains);
    }

    function withdraw(TaskBeacon b) external {
        b.withdrawCredit();
    }

    receive() external payable {
        revert("no refunds");
    }
}
