// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "./Test.sol";
import {Vectors} from "./Vectors.sol";
import {CapabilityLedger} from "../../../contracts/CapabilityLedger.sol";
import {TaskBeacon} from "../../../contracts/TaskBeacon.sol";
import {VoteCommitment} from "../../../contracts/VoteCommitment.sol";
import {ITaskBeacon} from "../../../contracts/interfaces/ITaskBeacon.sol";

/// @notice The three core contracts deployed and wired exactly like chain/deploy.py does (the ledger authorises the
///         beacon, the beacon binds the vote), plus helpers for agents. The test contract is owner and requester.
abstract contract SymphonyFixture is Test {
    uint256 internal constant T0 = 1_000_000;
    uint256 internal constant MIN_STAKE = 1 ether;
    uint64 internal constant COOLDOWN = 1 days;
    uint256 internal constant MAX_PAYLOAD = 8192;
    uint256 internal constant MIN_EVIDENCE_REWARD = 1e12;
    uint64 internal constant COMMIT_WINDOW = 600;
    uint64 internal constant REVEAL_WINDOW = 600;
    uint32 internal constant BID_WINDOW = 60;
    uint32 internal constant EXEC_WINDOW = 300;

    CapabilityLedger internal ledger;
    TaskBeacon internal beacon;
    VoteCommitment internal votes;

    /// @dev Requirement vectors of every chain posted through the helpers (bids must pass them back).
    mapping(uint256 => bytes32[]) internal _reqs;

    function setUp() public virtual {
        vm.warp(T0);
        ledger = new CapabilityLedger(MIN_STAKE, COOLDOWN);
        beacon = new TaskBeacon(address(ledger), MAX_PAYLOAD, MIN_EVIDENCE_REWARD);
        votes = new VoteCommitment(address(beacon), COMMIT_WINDOW, REVEAL_WINDOW);
        beacon.bindVote(address(votes));
        ledger.setAuthorized(address(beacon), true);
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

    function _spec(uint8 k, uint96 reward) internal pure returns (ITaskBeacon.TaskSpec memory) {
        return ITaskBeacon.TaskSpec({
            kind: bytes32(0), bidWindow: BID_WINDOW, execWindow: EXEC_WINDOW, executors: k, rewardPerExecutor: reward
        });
    }

    /// @dev Post a task of `chains` chains with `steps` steps each, every step requiring e0·100.
    function _postTask(uint256 chains, uint256 steps, uint8 k, uint96 reward) internal returns (bytes32 taskId) {
        bytes32[] memory r = new bytes32[](steps);
        for (uint256 s; s < steps; ++s) {
            r[s] = Vectors.unit(0, 100);
        }
        ITaskBeacon.ChainSpec[] memory specs = new ITaskBeacon.ChainSpec[](chains);
        for (uint256 i; i < chains; ++i) {
            specs[i] = ITaskBeacon.ChainSpec({requirements: r, payload: bytes("solve: 2+2")});
        }
        taskId = _postSpecs(_spec(k, reward), specs);
    }

    function _postSpecs(ITaskBeacon.TaskSpec memory spec, ITaskBeacon.ChainSpec[] memory specs)
        internal
        returns (bytes32 taskId)
    {
        uint256 total;
        for (uint256 i; i < specs.length; ++i) {
            total += specs[i].requirements.length;
        }
        taskId = beacon.postTask{value: _withFee(uint256(spec.rewardPerExecutor) * spec.executors * total)}(spec, specs);
        uint256 first = beacon.getTask(taskId).firstChain;
        for (uint256 i; i < specs.length; ++i) {
            _reqs[first + i] = specs[i].requirements;
        }
    }

    function _withFee(uint256 escrow) internal pure returns (uint256) {
        return escrow + (escrow * 1000) / 10_000;
    }

    /// @dev Beacon id of step `step` of chain `cot` of `taskId`.
    function _beaconOf(bytes32 taskId, uint256 cot, uint256 step) internal view returns (uint256) {
        return ((beacon.getTask(taskId).firstChain + cot) << 3) + step;
    }

    /// @dev One single-step (final) chain with k executors: the classic one-beacon lifecycle.
    function _postFinal(uint8 k, uint96 reward) internal returns (bytes32 taskId, uint256 id) {
        taskId = _postTask(1, 1, k, reward);
        id = _beaconOf(taskId, 0, 0);
    }

    function _bid(address who, uint256 beaconId) internal {
        vm.prank(who);
        beacon.bid(beaconId, _reqs[beaconId >> 3]);
    }

    function _submit(address who, uint256 beaconId, bytes memory result) internal {
        vm.prank(who);
        beacon.submitResult(beaconId, result);
    }

    function _closeAfterWindow(uint256 beaconId) internal {
        vm.warp(block.timestamp + BID_WINDOW + 1);
        beacon.close(beaconId);
    }

    function _commitment(bytes32 taskId, address voter, string memory answer, bytes memory result, bytes32 salt)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(taskId, voter, answer, keccak256(result), salt));
    }

    function _salt(address who) internal pure returns (bytes32) {
        return bytes32(uint256(uint160(who)));
    }

    function _result(string memory answer) internal pure returns (bytes memory) {
        return bytes(string.concat("{\"answer\":\"", answer, "\"}"));
    }

    /// @dev Deliver a final step as `who` with `answer` (result and salt derived from them).
    function _commit(address who, bytes32 taskId, uint256 beaconId, string memory answer) internal {
        vm.prank(who);
        beacon.commitResult(beaconId, _commitment(taskId, who, answer, _result(answer), _salt(who)));
    }

    function _reveal(address who, bytes32 taskId, string memory answer) internal {
        vm.prank(who);
        votes.reveal(taskId, answer, _result(answer), _salt(who));
    }

    /// @dev Post a single-step final beacon for `agents`, let them all bid and close: returns (task, beacon).
    function _assignedFinal(address[] memory agents, uint96 reward) internal returns (bytes32 taskId, uint256 id) {
        (taskId, id) = _postFinal(uint8(agents.length), reward);
        for (uint256 i; i < agents.length; ++i) {
            _bid(agents[i], id);
        }
        _closeAfterWindow(id);
    }
}
