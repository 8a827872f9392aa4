// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test, Vm} from "./utils/Test.sol";
import {SymphonyFixture} from "./utils/SymphonyFixture.sol";
import {Vectors} from "./utils/Vectors.sol";
import {CapabilityLedger} from "../../contracts/CapabilityLedger.sol";
import {TaskBeacon} from "../../contracts/TaskBeacon.sol";
import {VoteCommitment} from "../../contracts/VoteCommitment.sol";
import {ITaskBeacon} from "../../contracts/interfaces/ITaskBeacon.sol";
import {IVoteCommitment} from "../../contracts/interfaces/IVoteCommitment.sol";

Vm constant VM = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

/// @notice Drives the ledger with random register / heartbeat / deregister / withdraw / time steps.
contract LedgerHandler {
    CapabilityLedger public immutable ledger;
    address[] public actors;

    constructor(CapabilityLedger ledger_) {
        ledger = ledger_;
        for (uint256 i; i < 6; ++i) {
            actors.push(VM.addr(0xBEEF + i));
            VM.deal(actors[i], 1000 ether);
        }
    }

    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    function register(uint256 who, uint96 stake, uint8 comp) external {
        address a = actors[who % actors.length];
        uint256 s = 1 ether + (stake % 10 ether);
        bytes32 cap = Vectors.unit(comp % 32, int8(int256(uint256(comp % 100) + 1)));
        VM.prank(a);
        try ledger.register{value: s}("a", "m", "e", new string[](0), cap, 2) {} catch {}
    }

    function heartbeat(uint256 who, bool available, uint8 free) external {
        VM.prank(actors[who % actors.length]);
        try ledger.heartbeat(available, free % 3) {} catch {}
    }

    function deregister(uint256 who) external {
        VM.prank(actors[who % actors.length]);
        try ledger.deregister() {} catch {}
    }

    function withdraw(uint256 who) external {
        VM.prank(actors[who % actors.length]);
        try ledger.withdrawStake() {} catch {}
    }

    function warp(uint32 dt) external {
        VM.warp(block.timestamp + (dt % 2 days));
    }
}

/// @notice Drives one TaskBeacon with random posts (with rewards), bids, closes, results, reclaims and time steps.
contract BeaconHandler {
    TaskBeacon public immutable beacon;
    address[] public agents;
    bytes32 public constant TASK = keccak256("inv-task");
    uint256 public deliveries; // ghosts: how far the random runs got
    uint256 public reclaims;

    constructor(TaskBeacon beacon_, address[] memory agents_) {
        beacon = beacon_;
        agents = agents_;
        VM.deal(address(this), 1e9 ether);
    }

    receive() external payable {}

    function _beacon(uint256 seed) internal view returns (uint256) {
        uint256 n = beacon.beaconCount();
        return n == 0 ? 0 : seed % n;
    }

    function post(uint8 k, uint96 reward, bool isFinal, uint8 req) external {
        bytes32 requirement = Vectors.unit(req % 4, 50);
        try beacon.postBeacon{value: reward % 100 ether}(
            TASK, uint16(req % 3), 0, requirement, "p", 30, 60, uint8(k % 8) + 1, req % 2 == 0, isFinal
        ) {} catch {}
    }

    function bid(uint256 b, uint256 who) external {
        uint256 id = _beacon(b); // before prank: the view call would consume it
        VM.prank(agents[who % agents.length]);
        try beacon.bid(id) {} catch {}
    }

    function close(uint256 b) external {
        try beacon.close(_beacon(b)) {} catch {}
    }

    function submit(uint256 b, uint256 who) external {
        uint256 id = _beacon(b);
        VM.prank(agents[who % agents.length]);
        try beacon.submitResult(id, "r") {
            ++deliveries;
        } catch {}
    }

    function reclaim(uint256 b) external {
        try beacon.reclaimExpired(_beacon(b)) {
            ++reclaims;
        } catch {}
    }

    function warp(uint8 dt) external {
        VM.warp(block.timestamp + (dt % 90));
    }
}

/// @notice Drives votes on several tasks whose final beacons were delivered in setUp; snapshots each vote the
///         moment it is finalized so the invariant can check it never changes afterwards.
contract VoteHandler {
    VoteCommitment public immutable votes;
    bytes32[] public tasks;
    uint256[] public beacons;
    address[] public agents; // executors of every task's final beacon
    mapping(bytes32 => bytes32) public snapshot;
    mapping(bytes32 => uint256) public finalizedAt;
    uint256 public finalizations; // ghost: how often the run reached finalize (the invariant is not vacuous)

    constructor(VoteCommitment votes_, bytes32[] memory tasks_, uint256[] memory beacons_, address[] memory agents_) {
        votes = votes_;
        tasks = tasks_;
        beacons = beacons_;
        agents = agents_;
    }

    function taskCount() external view returns (uint256) {
        return tasks.length;
    }

    function _salt(address who) internal pure returns (bytes32) {
        return bytes32(uint256(uint160(who)));
    }

    function _answer(uint256 seed) internal pure returns (string memory) {
        return seed % 3 == 0 ? "72" : (seed % 3 == 1 ? "71" : "seventy-two");
    }

    function commit(uint256 t, uint256 who, uint256 answer) external {
        uint256 i = t % tasks.length;
        address a = agents[who % agents.length];
        bytes32 c = keccak256(abi.encode(tasks[i], a, _answer(answer + uint160(a)), bytes32("cot"), _salt(a)));
        VM.prank(a);
        try votes.commit(tasks[i], beacons[i], c) {} catch {}
    }

    function reveal(uint256 t, uint256 who, uint256 answer, bool honest) external {
        uint256 i = t % tasks.length;
        address a = agents[who % agents.length];
        string memory ans = honest ? _answer(answer + uint160(a)) : _answer(answer);
        VM.prank(a);
        try votes.reveal(tasks[i], ans, bytes32("cot"), _salt(a)) {} catch {}
    }

    function startReveal(uint256 t) external {
        try votes.startReveal(tasks[t % tasks.length]) {} catch {}
    }

    function finalize(uint256 t) external {
        bytes32 task = tasks[t % tasks.length];
        try votes.finalize(task) {
            ++finalizations;
            snapshot[task] = keccak256(abi.encode(votes.getVote(task), votes.votersOf(task)));
            finalizedAt[task] = block.timestamp;
        } catch {}
    }

    function warp(uint16 dt) external {
        VM.warp(block.timestamp + (dt % 700));
    }
}

contract LedgerInvariantTest is Test {
    CapabilityLedger internal ledger;
    LedgerHandler internal handler;

    function setUp() public {
        vm.warp(1_000_000);
        ledger = new CapabilityLedger(1 ether, 1 days);
        handler = new LedgerHandler(ledger);
        targetContract(address(handler));
    }

    /// @notice Total staked == ledger balance, and the active count matches the agents' flags.
    function invariant_totalStakedEqualsBalance() public view {
        uint256 staked;
        uint256 active;
        for (uint256 i; i < handler.actorCount(); ++i) {
            address a = handler.actors(i);
            staked += ledger.getAgent(a).stake;
            if (ledger.isActive(a)) ++active;
        }
        assertEq(address(ledger).balance, staked, "ledger balance == sum of stakes");
        assertEq(ledger.activeAgentCount(), active, "active count");
    }

    /// @dev The handler's calls swallow reverts, so a handler whose calls always failed would leave the
    ///      invariant trivially true: its paths must really register, deregister and withdraw.
    function test_handlerPathsChangeState() public {
        handler.register(0, 0, 5);
        address a = handler.actors(0);
        assertTrue(ledger.isActive(a), "registered through the handler");
        handler.deregister(0);
        handler.warp(1 days);
        handler.warp(1);
        handler.withdraw(0);
        assertEq(ledger.getAgent(a).stake, 0, "withdrawn through the handler");
        assertEq(address(ledger).balance, 0, "nothing left staked");
    }
}

contract BeaconInvariantTest is SymphonyFixture {
    BeaconHandler internal handler;

    function setUp() public override {
        super.setUp();
        address[] memory agents = _registerMany(6);
        handler = new BeaconHandler(beacon, agents);
        targetContract(address(handler));
    }

    /// @notice The escrow held equals the sum of every beacon's open reward; final slots are the voters.
    function invariant_escrowEqualsOpenRewards() public view {
        uint256 open;
        uint256 finalSlots;
        uint256 n = beacon.beaconCount();
        for (uint256 i; i < n; ++i) {
            ITaskBeacon.BeaconInfo memory b = beacon.getBeacon(i);
            open += b.reward;
            if (b.status == ITaskBeacon.Status.Completed || b.status == ITaskBeacon.Status.Unfilled) {
                assertEq(b.reward, 0, "settled beacons hold nothing");
            }
            if (b.isFinal) finalSlots += beacon.executorsOf(i).length;
        }
        assertEq(address(beacon).balance, open, "escrow == sum of open rewards");
        assertEq(beacon.finalExecutorCount(handler.TASK()), finalSlots, "final executor count == live final slots");
    }

    /// @dev Non-vacuity: the handler's own calls post, assign, deliver and reclaim (its ghosts count the last two).
    function test_handlerPathsDeliverAndReclaim() public {
        handler.post(0, 1 ether, false, 0); // beacon 0: one executor
        handler.post(1, 2 ether, false, 0); // beacon 1: two executors, none will deliver
        for (uint256 who; who < 6; ++who) {
            handler.bid(0, who);
            handler.bid(1, who);
        }
        handler.warp(31); // past the 30 s bid window
        handler.close(0);
        handler.close(1);
        for (uint256 who; who < 6; ++who) {
            handler.submit(0, who); // only the executor's succeeds
        }
        assertEq(handler.deliveries(), 1, "one delivery through the handler");
        assertTrue(beacon.getBeacon(0).status == ITaskBeacon.Status.Completed, "beacon 0 completed");
        handler.warp(61); // past the 60 s execution window
        handler.reclaim(1);
        assertGt(handler.reclaims(), 0, "a reclaim through the handler");
        assertEq(address(beacon).balance, beacon.getBeacon(1).reward, "escrow == what is still open");
    }

}

contract VoteInvariantTest is SymphonyFixture {
    VoteHandler internal handler;

    function setUp() public override {
        super.setUp();
        address[] memory agents = _registerMany(3);
        bytes32[] memory tasks = new bytes32[](3);
        uint256[] memory ids = new uint256[](3);
        for (uint256 t; t < 3; ++t) {
            tasks[t] = keccak256(abi.encode("inv-vote", t));
            ids[t] = beacon.postBeacon(tasks[t], 0, 0, Vectors.unit(0, 100), "", BID_WINDOW, EXEC_WINDOW, 3, false, true);
            for (uint256 i; i < 3; ++i) {
                _bid(agents[i], ids[t]);
            }
        }
        vm.warp(block.timestamp + BID_WINDOW + 1);
        for (uint256 t; t < 3; ++t) {
            beacon.close(ids[t]);
            for (uint256 i; i < 3; ++i) {
                _submit(agents[i], ids[t], "r");
            }
        }
        handler = new VoteHandler(votes, tasks, ids, agents);
        targetContract(address(handler));
    }

    /// @notice A finalized vote never changes, and phases never run backwards.
    function invariant_finalizedVoteNeverChanges() public view {
        for (uint256 t; t < handler.taskCount(); ++t) {
            bytes32 task = handler.tasks(t);
            IVoteCommitment.VoteInfo memory v = votes.getVote(task);
            bytes32 snap = handler.snapshot(task);
            if (snap != bytes32(0)) {
                assertEq(uint256(v.phase), uint256(IVoteCommitment.Phase.Finalized), "still finalized");
                assertEq(keccak256(abi.encode(v, votes.votersOf(task))), snap, "finalized vote unchanged");
            }
            assertLe(v.reveals, v.commits, "reveals <= commits");
            assertLe(v.winningWeight, v.totalWeight, "winner <= total");
        }
    }

    /// @dev Non-vacuity: the handler's commitments are revealable and reach finalize, so the snapshot branch of
    ///      the invariant above is live (a handler whose commits all reverted would keep it empty).
    function test_handlerReachesFinalize() public {
        for (uint256 who; who < 3; ++who) {
            handler.commit(0, who, 0);
        }
        for (uint256 who; who < 3; ++who) {
            handler.reveal(0, who, 0, true);
        }
        handler.finalize(0);
        assertEq(handler.finalizations(), 1, "finalized through the handler");
        assertTrue(handler.snapshot(handler.tasks(0)) != bytes32(0), "snapshot taken");
        IVoteCommitment.VoteInfo memory v = votes.getVote(handler.tasks(0));
        assertEq(uint256(v.reveals), 3, "every handler reveal counted");
    }

}

