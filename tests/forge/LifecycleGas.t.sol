// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {SymphonyFixture} from "./utils/SymphonyFixture.sol";
import {Vectors} from "./utils/Vectors.sol";
import {IVoteCommitment} from "../../contracts/interfaces/IVoteCommitment.sol";
import {ITaskBeacon} from "../../contracts/interfaces/ITaskBeacon.sol";

/// @notice Gas of one full 3-agent lifecycle, measured per call as a real transaction would pay it:
///         21 000 base + calldata (4 / 16 gas per zero / non-zero byte) + execution, with the three contracts'
///         storage cooled (`vm.cool`) before each call so every call starts cold like a fresh transaction.
///         Run `forge test --match-path tests/forge/LifecycleGas.t.sol -vv` to see the per-call table.
/// @dev The execution part is gasleft() around a low-level call minus the caller's warm CALL cost (100), so it
///      may overstate by a few hundred gas (argument copying in the caller). scripts/bench_chain.py measures the
///      same lifecycle from anvil receipts.
contract LifecycleGasTest is SymphonyFixture {
    uint256 internal constant CALL_OVERHEAD = 100;
    /// @notice Ceiling for one steady 3-agent lifecycle (measured 1,116,110: 1,088,630 before the requester's view,
    ///         which reads one record slot per bid and writes one per settled voter; v1: 1,276,142). Issue #14's goal
    ///         of 700k is not met: scripts/bench_chain.py reports the measurement against the goal, this test only
    ///         stops a change that makes the lifecycle dearer than today's.
    uint256 internal constant LIFECYCLE_CEILING = 1_125_000;

    uint256 internal total;

    function _intrinsic(bytes memory data) internal pure returns (uint256 gas) {
        gas = 21_000;
        for (uint256 i; i < data.length; ++i) {
            gas += data[i] == 0 ? 4 : 16;
        }
    }

    function _tx(address from, address to, bytes memory data, string memory what) internal returns (bytes memory ret) {
        vm.cool(address(ledger));
        vm.cool(address(beacon));
        vm.cool(address(votes));
        if (to.balance == type(uint256).max) revert("unreachable"); // a real tx starts with `to` warm
        vm.prank(from);
        uint256 g0 = gasleft();
        (bool ok, bytes memory out) = to.call(data);
        uint256 g1 = gasleft();
        if (!ok) {
            assembly {
                revert(add(out, 32), mload(out))
            }
        }
        uint256 gas = _intrinsic(data) + (g0 - g1) - CALL_OVERHEAD;
        total += gas;
        emit log_named_uint(what, gas);
        return out;
    }

    bytes internal constant RESULT = bytes("Natalia sold 48/2 = 24 clips in May, so 48 + 24 = 72 clips altogether. #### 72");

    function _answer(uint256 i) internal pure returns (string memory) {
        return i == 2 ? "71" : "72";
    }

    function _saltOf(uint256 i, uint256 n) internal pure returns (bytes32) {
        return keccak256(abi.encode("salt", i, n));
    }

    /// @dev post (1 chain, 1 final step, k = 3), 3 bids, close, 3 deliveries (= commitments), 3 reveals (the last
    ///      finalizes and settles).
    function _lifecycle(address[] memory a, uint256 n) internal returns (bytes32 taskId) {
        total = 0;
        uint256 id;
        (taskId, id) = _timedPost();
        for (uint256 i; i < 3; ++i) {
            _tx(a[i], address(beacon), abi.encodeCall(beacon.bid, (id, _reqs[id >> 3])), string.concat("bid #", _u(i + 1)));
        }
        vm.warp(block.timestamp + BID_WINDOW + 1);
        _tx(address(this), address(beacon), abi.encodeCall(beacon.close, (id)), "close");
        for (uint256 i; i < 3; ++i) {
            bytes32 c = keccak256(abi.encode(taskId, a[i], _answer(i), keccak256(RESULT), _saltOf(i, n)));
            _tx(a[i], address(beacon), abi.encodeCall(beacon.commitResult, (id, c)), string.concat("commitResult #", _u(i + 1)));
        }
        for (uint256 i; i < 3; ++i) {
            _tx(
                a[i],
                address(votes),
                abi.encodeCall(votes.reveal, (taskId, _answer(i), RESULT, _saltOf(i, n))),
                i == 2 ? "reveal #3 (completes the vote: finalizes and settles)" : string.concat("reveal #", _u(i + 1))
            );
        }
        IVoteCommitment.VoteInfo memory v = votes.getVote(taskId);
        assertEq(uint256(v.phase), uint256(IVoteCommitment.Phase.Finalized), "lifecycle completed");
        assertEq(v.winningAnswer, "72", "answer");
    }

    function _timedPost() internal returns (bytes32 taskId, uint256 id) {
        bytes memory payload = bytes("Q: Natalia sold clips to 48 of her friends in April... How many in total? step 1/1");
        bytes32[] memory r = new bytes32[](1);
        r[0] = Vectors.unit(0, 100);
        ITaskBeacon.ChainSpec[] memory chains = new ITaskBeacon.ChainSpec[](1);
        chains[0] = ITaskBeacon.ChainSpec(r, payload);
        ITaskBeacon.TaskSpec memory spec = _spec(3, 1e12);
        vm.deal(address(this), 10 ether);
        vm.cool(address(ledger));
        vm.cool(address(beacon));
        vm.cool(address(votes));
        bytes memory data = abi.encodeCall(beacon.postTask, (spec, chains));
        uint256 g0 = gasleft();
        (bool ok, bytes memory out) = address(beacon).call{value: _withFee(3e12)}(data);
        uint256 gas = _intrinsic(data) + (g0 - gasleft()) - CALL_OVERHEAD;
        require(ok, "postTask failed");
        total += gas;
        emit log_named_uint("postTask (1 chain, k=3, final)", gas);
        taskId = abi.decode(out, (bytes32));
        id = _beaconOf(taskId, 0, 0);
        _reqs[id >> 3] = r;
    }

    /// @notice Agents with a record (their evidence slots exist): the steady state the goal is about.
    function test_gas_threeAgentLifecycle_noDearerThanToday() public {
        address[] memory a = _registerMany(3);
        _lifecycle(a, 0);
        emit log_named_uint("TOTAL first lifecycle (fresh evidence slots)", total);
        vm.warp(block.timestamp + 1);
        _lifecycle(a, 1);
        emit log_named_uint("TOTAL steady lifecycle (11 txs incl. 21k base each)", total);
        assertLe(total, LIFECYCLE_CEILING, "steady lifecycle gas above the ceiling");
    }
}
