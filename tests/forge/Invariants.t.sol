// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test, Vm} from "./utils/Test.sol";
import {SymphonyFixture} from "./utils/SymphonyFixture.sol";
import {Vectors} from "./utils/Vectors.sol";
import {CapabilityLedger} from "../../contracts/CapabilityLedger.sol";
import {TaskBeacon} from "../../contracts/TaskBeacon.sol";
import {VoteCommitment} from "../../contracts/VoteCommitment.sol";
import {ITaskBeacon} from "../../contracts/interfaces/ITaskBeacon.sol";
import {ICapabilityLedger} from "../../contracts/interfaces/ICapabilityLedger.sol";
import {IVoteCommitment} from "../../contracts/interfaces/IVoteCommitment.sol";

Vm constant VM = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

/// @notice Drives the ledger with random registrations, heartbeats, top-ups, exits, and (as an authorised
///         protocol) slashes, reservations and releases; counts any reservation granted beyond capacity.
contract LedgerHandler {
    CapabilityLedger public immutable ledger;
    address[] public actors;
    mapping(address => uint256) public held; // ghost: reservations granted minus releases
    uint256 public overbooked; // reservations granted at or above declared capacity (must stay 0)
    uint256 public reservations;

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

    function heartbeat(uint256 who, bool available) external {
        VM.prank(actors[who % actors.length]);
        try ledger.heartbeat(available) {} catch {}
    }

    function addStake(uint256 who, uint96 amount) external {
        VM.prank(actors[who % actors.length]);
        try ledger.addStake{value: 1 + amount % 5 ether}() {} catch {}
    }

    function deregister(uint256 who) external {
        VM.prank(actors[who % actors.length]);
        try ledger.deregister() {} catch {}
    }

    function withdraw(uint256 who) external {
        VM.prank(actors[who % actors.length]);
        try ledger.withdrawStake() {} catch {}
    }

    function slash(uint256 who, uint96 amount, bool burn) external {
        address a = actors[who % actors.length];
        try ledger.slash(a, amount % 3 ether, burn ? address(0) : address(0xdead)) {} catch {}
    }

    function reserve(uint256 who) external {
        address a = actors[who % actors.length];
        ICapabilityLedger.AgentInfo memory info = ledger.getAgent(a);
        try ledger.reserve(a, 0) returns (bool ok) {
            if (ok) {
                if (held[a] >= info.capacity) ++overbooked;
                ++held[a];
                ++reservations;
            }
        } catch {}
    }

    function release(uint256 who) external {
        address a = actors[who % actors.length];
        try ledger.release(a) {
            if (held[a] > 0) --held[a];
        } catch {}
    }

    function warp(uint32 dt) external {
        VM.warp(block.timestamp + (dt % 2 days));
    }
}

contract LedgerInvariantTest is Test {
    CapabilityLedger internal ledger;
    LedgerHandler internal handler;

    function setUp() public {
        vm.warp(1_000_000);
        ledger = new CapabilityLedger(1 ether, 1 days);
        handler = new LedgerHandler(ledger);
        ledger.setAuthorized(address(handler), true);
        targetContract(address(handler));
    }

    /// @notice Stake is conserved: the ledger holds exactly the stakes plus what was burned.
    function invariant_balanceEqualsStakesPlusBurned() public view {
        uint256 staked;
        for (uint256 i; i < handler.actorCount(); ++i) {
            staked += ledger.stakeOf(handler.actors(i));
        }
        assertEq(address(ledger).balance, staked + ledger.burnedStake(), "balance == stakes + burned");
    }

    /// @notice The swap-and-pop active set holds exactly the active agents, each once.
    function invariant_activeSetIsExactlyTheActiveAgents() public view {
        ICapabilityLedger.AgentInfo[] memory page = ledger.getActiveAgents(0, 100);
        uint256 active;
        for (uint256 i; i < handler.actorCount(); ++i) {
            address a = handler.actors(i);
            if (!ledger.isActive(a)) continue;
            ++active;
            uint256 seen;
            for (uint256 j; j < page.length; ++j) {
                if (page[j].agent == a) ++seen;
            }
            assertEq(seen, 1, "listed once");
        }
        assertEq(page.length, active, "nobody else listed");
        assertEq(ledger.activeAgentCount(), active, "count");
    }

    /// @notice Capacity is never overbooked, and the ledger's count is the reservations still held.
    function invariant_capacityNeverOverbooked() public view {
        assertEq(handler.overbooked(), 0, "no reservation beyond capacity");
        for (uint256 i; i < handler.actorCount(); ++i) {
            address a = handler.actors(i);
            ICapabilityLedger.AgentInfo memory info = ledger.getAgent(a);
            assertEq(uint256(info.capacity - info.freeCapacity), handler.held(a), "held == capacity - free");
        }
    }

    /// @dev Non-vacuity: the handler's swallowed-revert paths really register, reserve, slash and withdraw.
    function test_handlerPathsChangeState() public {
        handler.register(0, 0, 5);
        address a = handler.actors(0);
        assertTrue(ledger.isActive(a), "registered through the handler");
        handler.reserve(0);
        handler.reserve(0);
        handler.reserve(0);
        assertEq(handler.reservations(), 2, "capacity 2: the third is refused");
        handler.release(0);
        handler.release(0);
        handler.slash(0, 0.5 ether, true);
        assertEq(ledger.burnedStake(), 0.5 ether, "slashed through the handler");
        handler.deregister(0);
        handler.warp(1 days);
        handler.warp(1);
        handler.withdraw(0);
        assertEq(ledger.stakeOf(a), 0, "withdrawn through the handler");
        assertEq(address(ledger).balance, 0.5 ether, "only the burned stake stays");
    }
}

/// @notice Drives the whole protocol as one requester and six agents: random tasks (1-2 chains of 1-2 steps,
///         k 1-2, rewards), bids, closes, deliveries, commitments, reveals, reclaims, finalizations and time.
contract ProtocolHandler {
    TaskBeacon public immutable beacon;
    VoteCommitment public immutable votes;
    address[] public agents;
    uint256[] public beaconIds;
    bytes32[] public taskIds;
    mapping(uint256 => bytes32[]) internal _reqs;
    mapping(bytes32 => bytes32) public snapshot; // finalized votes, hashed at finalization
    uint256 public deliveries;
    uint256 public commits;
    uint256 public finalizations;
    uint256 public reclaims;

    constructor(TaskBeacon beacon_, VoteCommitment votes_, address[] memory agents_) {
        beacon = beacon_;
        votes = votes_;
        agents = agents_;
        VM.deal(address(this), 1e6 ether);
    }

    receive() external payable {}

    function beaconCount() external view returns (uint256) {
        return beaconIds.length;
    }

    function taskCount() external view returns (uint256) {
        return taskIds.length;
    }

    function _id(uint256 seed) internal view returns (uint256) {
        return beaconIds.length == 0 ? 8 : beaconIds[seed % beaconIds.length];
    }

    function _answer(address who) internal pure returns (string memory) {
        return uint160(who) % 3 == 0 ? "5" : "4";
    }

    function _salt(bytes32 taskId, address who) internal pure returns (bytes32) {
        return keccak256(abi.encode(taskId, who));
    }

    function post(uint8 shape, uint96 reward) external {
        uint256 chains = 1 + shape % 2;
        uint256 steps = 1 + (shape >> 1) % 2;
        uint8 k = uint8(1 + (shape >> 2) % 2);
        uint96 r = uint96(reward % 0.5 ether);
        ITaskBeacon.ChainSpec[] memory specs = new ITaskBeacon.ChainSpec[](chains);
        bytes32[] memory req = new bytes32[](steps);
        for (uint256 s; s < steps; ++s) {
            req[s] = Vectors.unit(s, 50);
        }
        for (uint256 c; c < chains; ++c) {
            specs[c] = ITaskBeacon.ChainSpec(req, "p");
        }
        uint256 escrow = uint256(r) * k * chains * steps;
        try beacon.postTask{value: escrow + escrow / 10}(ITaskBeacon.TaskSpec(bytes32(0), 30, 60, k, r), specs) returns (
            bytes32 taskId
        ) {
            taskIds.push(taskId);
            uint256 first = beacon.getTask(taskId).firstChain;
            for (uint256 c; c < chains; ++c) {
                _reqs[first + c] = req;
                for (uint256 s; s < steps; ++s) {
                    beaconIds.push(((first + c) << 3) + s);
                }
            }
        } catch {}
    }

    function bid(uint256 b, uint256 who) external {
        uint256 id = _id(b);
        VM.prank(agents[who % agents.length]);
        try beacon.bid(id, _reqs[id >> 3]) {} catch {}
    }

    /// @dev Jumps past the bid window first, so closes are frequent enough for the later phases to be reached.
    function close(uint256 b) external {
        uint256 id = _id(b);
        try beacon.getBeacon(id) returns (ITaskBeacon.BeaconInfo memory info) {
            if (block.timestamp <= info.bidDeadline) VM.warp(uint256(info.bidDeadline) + 1);
        } catch {}
        try beacon.close(id) {} catch {}
    }

    /// @dev Delivers as the first current executor that has not delivered yet (a random agent almost never is one).
    function deliver(uint256 b) external {
        uint256 id = _id(b);
        ITaskBeacon.BeaconInfo memory info;
        try beacon.getBeacon(id) returns (ITaskBeacon.BeaconInfo memory i) {
            info = i;
        } catch {
            return;
        }
        address[] memory ex = beacon.executorsOf(id);
        address a;
        for (uint256 i; i < ex.length && a == address(0); ++i) {
            if (!beacon.hasDelivered(id, ex[i])) a = ex[i];
        }
        if (a == address(0)) return;
        VM.prank(a);
        if (info.isFinal) {
            string memory ans = _answer(a);
            bytes32 c = keccak256(abi.encode(info.taskId, a, ans, keccak256(bytes(ans)), _salt(info.taskId, a)));
            try beacon.commitResult(id, c) {
                ++commits;
            } catch {}
        } else {
            try beacon.submitResult(id, "r") {
                ++deliveries;
            } catch {}
        }
        _snap(info.taskId);
    }

    function reveal(uint256 t, uint256 who) external {
        if (taskIds.length == 0) return;
        bytes32 taskId = taskIds[t % taskIds.length];
        address a = agents[who % agents.length];
        string memory ans = _answer(a);
        VM.prank(a);
        try votes.reveal(taskId, ans, bytes(ans), _salt(taskId, a)) {} catch {}
        _snap(taskId);
    }

    function startReveal(uint256 t) external {
        if (taskIds.length == 0) return;
        try votes.startReveal(taskIds[t % taskIds.length]) {} catch {}
    }

    function finalize(uint256 t) external {
        if (taskIds.length == 0) return;
        bytes32 taskId = taskIds[t % taskIds.length];
        try votes.finalize(taskId) {} catch {}
        _snap(taskId);
    }

    function reclaim(uint256 b) external {
        try beacon.reclaimExpired(_id(b)) {
            ++reclaims;
        } catch {}
    }

    function withdraw() external {
        try beacon.withdrawCredit() {} catch {}
    }

    function warp(uint8 dt) external {
        VM.warp(block.timestamp + (dt % 90));
    }

    function _snap(bytes32 taskId) internal {
        if (snapshot[taskId] != bytes32(0)) return;
        IVoteCommitment.VoteInfo memory v = votes.getVote(taskId);
        if (v.phase != IVoteCommitment.Phase.Finalized) return;
        ++finalizations;
        v.expectedVoters = 0; // live slots may still change through reclaims; the outcome may not
        snapshot[taskId] = keccak256(abi.encode(v, votes.votersOf(taskId)));
    }
}

contract ProtocolInvariantTest is SymphonyFixture {
    ProtocolHandler internal handler;
    address[] internal agents;

    function setUp() public override {
        super.setUp();
        agents = _registerMany(6);
        handler = new ProtocolHandler(beacon, votes, agents);
        targetContract(address(handler));
    }

    /// @notice Escrow is conserved: the beacon holds exactly the open escrow, the credits owed and the burned fees.
    function invariant_escrowAccounted() public view {
        uint256 open;
        for (uint256 i; i < handler.beaconCount(); ++i) {
            ITaskBeacon.BeaconInfo memory b = beacon.getBeacon(handler.beaconIds(i));
            if (b.status == ITaskBeacon.Status.Bidding) open += uint256(b.executors) * b.rewardPerExecutor;
            else if (b.status == ITaskBeacon.Status.Assigned) open += uint256(b.slots - b.delivered) * b.rewardPerExecutor;
        }
        assertEq(
            address(beacon).balance,
            open + beacon.credits(address(handler)) + beacon.burnedFees(),
            "balance == open escrow + credits + burned fees"
        );
    }

    /// @notice Capacity is consumed on assignment and restored on delivery or timeout: each agent's ledger count
    ///         is exactly its live, undelivered assignments.
    function invariant_capacityEqualsOpenAssignments() public view {
        for (uint256 a; a < agents.length; ++a) {
            uint256 open;
            for (uint256 i; i < handler.beaconCount(); ++i) {
                uint256 id = handler.beaconIds(i);
                if (beacon.getBeacon(id).status != ITaskBeacon.Status.Assigned) continue;
                if (beacon.isExecutor(id, agents[a]) && !beacon.hasDelivered(id, agents[a])) ++open;
            }
            ICapabilityLedger.AgentInfo memory info = ledger.getAgent(agents[a]);
            assertEq(uint256(info.capacity - info.freeCapacity), open, "ledger count == open assignments");
        }
    }

    /// @notice The voters a vote waits for are exactly the live final slots; a finalized vote never changes.
    function invariant_expectedVotersAndFinality() public view {
        for (uint256 t; t < handler.taskCount(); ++t) {
            bytes32 taskId = handler.taskIds(t);
            ITaskBeacon.TaskInfo memory info = beacon.getTask(taskId);
            uint256 live;
            for (uint256 c; c < info.chains; ++c) {
                uint256 chainId = info.firstChain + c;
                uint256 steps;
                while (steps < 8) {
                    try beacon.getBeacon((chainId << 3) + steps) returns (ITaskBeacon.BeaconInfo memory) {
                        ++steps;
                    } catch {
                        break;
                    }
                }
                ITaskBeacon.BeaconInfo memory f = beacon.getBeacon((chainId << 3) + steps - 1);
                if (f.status == ITaskBeacon.Status.Bidding) live += f.executors;
                else if (f.status != ITaskBeacon.Status.Unfilled) live += f.slots;
            }
            assertEq(beacon.expectedVoters(taskId), live, "expected voters == live final slots");
            IVoteCommitment.VoteInfo memory v = votes.getVote(taskId);
            assertLe(v.reveals, v.commits, "reveals <= commits");
            assertLe(v.winningWeight, v.totalWeight, "winner <= total");
            bytes32 snap = handler.snapshot(taskId);
            if (snap != bytes32(0)) {
                v.expectedVoters = 0;
                assertEq(keccak256(abi.encode(v, votes.votersOf(taskId))), snap, "finalized vote unchanged");
            }
        }
    }

    /// @dev Non-vacuity: through the handler's own calls a task is posted, assigned, delivered step by step,
    ///      committed, revealed, finalized (snapshotted) and a timed-out slot reclaimed.
    function test_handlerPathsReachEveryPhase() public {
        handler.post(2, 1e12); // 1 chain, 2 steps, k = 1
        for (uint256 who; who < 6; ++who) {
            handler.bid(0, who);
            handler.bid(1, who);
        }
        handler.warp(31);
        handler.close(0);
        handler.deliver(0); // assigns step 2
        handler.deliver(0); // nobody left to deliver
        assertEq(handler.deliveries(), 1, "one delivery");
        handler.deliver(1);
        assertEq(handler.commits(), 1, "one commitment");
        for (uint256 who; who < 6; ++who) {
            handler.reveal(0, who);
        }
        assertEq(handler.finalizations(), 1, "finalized and snapshotted");
        handler.post(0, 1e12); // 1 chain, 1 step, k = 1
        handler.bid(2, 0);
        handler.warp(31);
        handler.close(2);
        handler.warp(61);
        handler.reclaim(2);
        assertEq(handler.reclaims(), 1, "a reclaim");
    }
}
