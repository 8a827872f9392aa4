// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {SymphonyFixture} from "./utils/SymphonyFixture.sol";
import {Vectors} from "./utils/Vectors.sol";
import {IVoteCommitment} from "../../contracts/interfaces/IVoteCommitment.sol";

/// @notice Gas of one full 3-agent lifecycle, measured per call as a real transaction would pay it:
///         21 000 base + calldata (4 / 16 gas per zero / non-zero byte) + execution, with the three contracts'
///         storage cooled (`vm.cool`) before each call so every call starts cold like a fresh transaction.
///         Run `forge test --match-path tests/forge/LifecycleGas.t.sol -vv` to see the per-call table.
/// @dev The execution part is gasleft() around a low-level call minus the caller's warm CALL cost (100), so it
///      may overstate by a few hundred gas (argument copying in the caller). scripts/bench_chain.py measures the
///      same lifecycle from anvil receipts.
contract LifecycleGasTest is SymphonyFixture {
    uint256 internal constant CALL_OVERHEAD = 100;
    /// @notice Regression ceiling for the whole lifecycle (measured 1.203M at commit time; see the report).
    uint256 internal constant LIFECYCLE_CEILING = 1_250_000;

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

    function test_gas_fullThreeAgentLifecycle() public {
        address[] memory a = _registerMany(3);
        bytes memory payload = bytes("Q: Natalia sold clips to 48 of her friends in April... How many in total? step 1/1");
        bytes memory ret = _tx(
            address(this),
            address(beacon),
            abi.encodeCall(
                beacon.postBeacon,
                (TASK, 0, 0, Vectors.unit(0, 100), payload, BID_WINDOW, EXEC_WINDOW, 3, false, true)
            ),
            "postBeacon (k=3, final, no reward)"
        );
        uint256 id = abi.decode(ret, (uint256));
        _tx(a[0], address(beacon), abi.encodeCall(beacon.bid, (id)), "bid #1");
        _tx(a[1], address(beacon), abi.encodeCall(beacon.bid, (id)), "bid #2");
        _tx(a[2], address(beacon), abi.encodeCall(beacon.bid, (id)), "bid #3");
        vm.warp(block.timestamp + BID_WINDOW + 1);
        _tx(address(this), address(beacon), abi.encodeCall(beacon.close, (id)), "close");
        bytes memory result = bytes("Natalia sold 48/2 = 24 clips in May, so 48 + 24 = 72 clips altogether. #### 72");
        _tx(a[0], address(beacon), abi.encodeCall(beacon.submitResult, (id, result)), "submitResult #1");
        _tx(a[1], address(beacon), abi.encodeCall(beacon.submitResult, (id, result)), "submitResult #2");
        _tx(a[2], address(beacon), abi.encodeCall(beacon.submitResult, (id, result)), "submitResult #3");
        bytes32 cot = keccak256(result);
        for (uint256 i; i < 3; ++i) {
            bytes32 c = _commitment(TASK, a[i], "72", cot, keccak256(abi.encode("salt", i)));
            _tx(a[i], address(votes), abi.encodeCall(votes.commit, (TASK, id, c)), string.concat("commit #", _u(i + 1)));
        }
        for (uint256 i; i < 3; ++i) {
            _tx(
                a[i],
                address(votes),
                abi.encodeCall(votes.reveal, (TASK, "72", cot, keccak256(abi.encode("salt", i)))),
                string.concat("reveal #", _u(i + 1))
            );
        }
        _tx(address(this), address(votes), abi.encodeCall(votes.finalize, (TASK)), "finalize");
        emit log_named_uint("TOTAL (14 txs incl. 21k base each)", total);

        IVoteCommitment.VoteInfo memory v = votes.getVote(TASK);
        assertEq(uint256(v.phase), uint256(IVoteCommitment.Phase.Finalized), "lifecycle completed");
        assertEq(v.winningAnswer, "72", "answer");
        assertLe(total, LIFECYCLE_CEILING, "gas regression ceiling");
    }
}
