// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {CapabilityLedger} from "../../../contracts/CapabilityLedger.sol";
import {TaskBeacon} from "../../../contracts/TaskBeacon.sol";

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

    function bid(TaskBeacon b, uint256 beaconId) external {
        b.bid(beaconId);
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

/// @notice A requester that refuses refunds.
contract RefusingRequester {
    function post(TaskBeacon b, bytes32 requirement) external payable returns (uint256) {
        return b.postBeacon{value: msg.value}(bytes32("t"), 0, 0, requirement, "", 10, 10, 1, false, false);
    }

    receive() external payable {
        revert("no refunds");
    }
}
