// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ICapabilityLedger} from "./interfaces/ICapabilityLedger.sol";
import {CapabilityMath} from "./lib/CapabilityMath.sol";
import {Owned} from "./lib/Owned.sol";

/// @title CapabilityLedger
/// @notice Registry of Symphony agents: stake, capability vector, availability and reputation (docs/protocol.md).
/// @dev Hot fields (vector, norm, reputation, availability) sit in three packed slots so that TaskBeacon.bid reads
///      them with one external call (`bidScore`); the strings live behind them and are only read by views.
contract CapabilityLedger is ICapabilityLedger, Owned {
    /// @notice Most capability tags one agent may declare.
    uint256 public constant MAX_TAGS = 16;
    /// @notice Longest name / model id / endpoint / tag, in bytes.
    uint256 public constant MAX_STRING_BYTES = 256;
    /// @notice Starting reputation (1.0 in WAD).
    uint64 public constant INITIAL_REPUTATION = 1e18;
    /// @notice Reputation ceiling (2.0 in WAD); the floor is 0.
    uint64 public constant MAX_REPUTATION = 2e18;

    /// @dev Slot 1 holds everything a bid or a reputation change touches, so `bidScore` reads two slots and
    ///      `adjustReputation` one. Timestamps are uint40 (good until year 36812).
    struct Agent {
        bytes32 capability; // slot 0
        uint64 reputation; // slot 1 (hot)
        uint64 norm;
        uint32 capacity;
        uint32 freeCapacity;
        bool available;
        bool active;
        bool listed; // ever registered: present in _registered, reputation initialised
        uint40 lastHeartbeat;
        uint128 stake; // slot 2 (cold)
        uint64 unlockAt;
        string name;
        string modelId;
        string endpoint;
        string[] tags;
    }

    /// @inheritdoc ICapabilityLedger
    uint256 public immutable minStake;
    /// @inheritdoc ICapabilityLedger
    uint64 public immutable cooldown;
    /// @inheritdoc ICapabilityLedger
    uint256 public activeAgentCount;
    /// @inheritdoc ICapabilityLedger
    mapping(address => bool) public authorized;

    mapping(address => Agent) internal _agents;
    /// @dev Every address that ever registered, in first-registration order (re-registering keeps the position).
    address[] internal _registered;

    /// @param minStake_ smallest stake (wei) accepted by register
    /// @param cooldown_ seconds between deregister and withdrawStake
    constructor(uint256 minStake_, uint64 cooldown_) Owned(msg.sender) {
        minStake = minStake_;
        cooldown = cooldown_;
    }

    // ------------------------------------------------------------------ agent lifecycle

    /// @notice Register msg.sender with a stake (msg.value ≥ minStake). Counts as a first heartbeat
    ///         (available, freeCapacity = capacity). A re-registering agent keeps its reputation.
    function register(
        string calldata name,
        string calldata modelId,
        string calldata endpoint,
        string[] calldata tags,
        bytes32 capability,
        uint32 capacity
    ) external payable {
        Agent storage a = _agents[msg.sender];
        if (a.active || a.stake != 0) revert AlreadyRegistered(msg.sender);
        if (msg.value < minStake) revert InsufficientStake(msg.value, minStake);
        _checkString(name);
        uint64 n = _checkProfile(modelId, endpoint, tags, capability, capacity);

        if (!a.listed) {
            a.listed = true;
            a.reputation = INITIAL_REPUTATION;
            _registered.push(msg.sender);
        }
        a.capability = capability;
        a.stake = uint128(msg.value); // 3.4e20 ether: more than exists
        a.norm = n;
        a.capacity = capacity;
        a.freeCapacity = capacity;
        a.available = true;
        a.active = true;
        a.lastHeartbeat = uint40(block.timestamp);
        a.unlockAt = 0;
        a.name = name;
        _storeProfile(a, modelId, endpoint, tags);
        unchecked {
            // cannot overflow: it counts addresses with `active` set (< 2^160), and this one was not active
            ++activeAgentCount;
        }
        _emitRegistered(a);
    }

    /// @notice Replace the model, endpoint, tags, vector and capacity of an active agent.
    /// @dev freeCapacity is clipped to the new capacity; availability is left to the next heartbeat.
    function update(
        string calldata modelId,
        string calldata endpoint,
        string[] calldata tags,
        bytes32 capability,
        uint32 capacity
    ) external {
        Agent storage a = _agents[msg.sender];
        if (!a.active) revert NotRegistered(msg.sender);
        uint64 n = _checkProfile(modelId, endpoint, tags, capability, capacity);
        a.capability = capability;
        a.norm = n;
        a.capacity = capacity;
        if (a.freeCapacity > capacity) a.freeCapacity = capacity;
        _storeProfile(a, modelId, endpoint, tags);
        emit AgentUpdated(msg.sender, modelId, endpoint, tags, capability, n, capacity);
    }

    /// @notice Report availability and free capacity (≤ capacity). Bidding needs available && freeCapacity > 0.
    function heartbeat(bool available, uint32 freeCapacity) external {
        Agent storage a = _agents[msg.sender];
        if (!a.active) revert NotRegistered(msg.sender);
        if (freeCapacity > a.capacity) revert InvalidCapacity();
        a.available = available;
        a.freeCapacity = freeCapacity;
        a.lastHeartbeat = uint40(block.timestamp);
        emit Heartbeat(msg.sender, available, freeCapacity);
    }

    /// @notice Leave the active set; the stake unlocks `cooldown` seconds later.
    function deregister() external {
        Agent storage a = _agents[msg.sender];
        if (!a.active) revert NotRegistered(msg.sender);
        uint64 unlockAt = uint64(block.timestamp) + cooldown;
        a.active = false;
        a.available = false;
        a.unlockAt = unlockAt;
        unchecked {
            // cannot underflow: this agent was active, so it was counted by its register() and not yet uncounted
            --activeAgentCount;
        }
        emit AgentDeregistered(msg.sender, unlockAt);
    }

    /// @notice Withdraw the whole stake once deregistered and the cooldown is over.
    function withdrawStake() external {
        Agent storage a = _agents[msg.sender];
        uint256 amount = a.stake;
        if (amount == 0) revert NothingToWithdraw();
        if (a.active) revert AgentStillActive(msg.sender);
        if (block.timestamp < a.unlockAt) revert CooldownActive(a.unlockAt);
        a.stake = 0;
        a.unlockAt = 0;
        emit StakeWithdrawn(msg.sender, amount);
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert TransferFailed();
    }

    // ------------------------------------------------------------------ protocol hooks

    /// @notice Move an agent's reputation by `delta` (WAD), clamped to [0, MAX_REPUTATION]. Authorised protocols only.
    function adjustReputation(address agent, int256 delta) external {
        if (!authorized[msg.sender]) revert NotAuthorized(msg.sender);
        Agent storage a = _agents[agent];
        if (!a.listed) revert NotRegistered(agent);
        int256 max = int256(uint256(MAX_REPUTATION));
        int256 r;
        if (delta >= max) {
            r = max;
        } else if (delta <= -max) {
            r = 0;
        } else {
            r = int256(uint256(a.reputation)) + delta; // both bounded by ±2e18: no overflow
            if (r < 0) r = 0;
            else if (r > max) r = max;
        }
        uint64 rep = uint64(uint256(r));
        a.reputation = rep;
        emit ReputationChanged(agent, rep, delta, msg.sender);
    }

    /// @notice Allow or forbid a protocol contract to call adjustReputation. Owner only.
    function setAuthorized(address protocol, bool isAuthorized) external onlyOwner {
        authorized[protocol] = isAuthorized;
        emit ProtocolAuthorized(protocol, isAuthorized);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc ICapabilityLedger
    function isActive(address agent) external view returns (bool) {
        return _agents[agent].active;
    }

    /// @inheritdoc ICapabilityLedger
    function isAvailable(address agent) public view returns (bool) {
        Agent storage a = _agents[agent];
        return a.active && a.available && a.freeCapacity > 0;
    }

    /// @inheritdoc ICapabilityLedger
    function reputationOf(address agent) external view returns (uint64) {
        return _agents[agent].reputation;
    }

    /// @inheritdoc ICapabilityLedger
    function getAgent(address agent) external view returns (AgentInfo memory) {
        return _info(agent);
    }

    function _info(address agent) internal view returns (AgentInfo memory info) {
        Agent storage a = _agents[agent];
        info.agent = agent;
        info.name = a.name;
        info.modelId = a.modelId;
        info.endpoint = a.endpoint;
        info.tags = a.tags;
        info.capability = a.capability;
        info.norm = a.norm;
        info.stake = a.stake;
        info.reputation = a.reputation;
        info.capacity = a.capacity;
        info.freeCapacity = a.freeCapacity;
        info.available = a.available;
        info.active = a.active;
        info.lastHeartbeat = a.lastHeartbeat;
        info.unlockAt = a.unlockAt;
    }

    /// @inheritdoc ICapabilityLedger
    function getActiveAgents(uint256 offset, uint256 limit) external view returns (AgentInfo[] memory page) {
        uint256 active = activeAgentCount;
        uint256 size = offset >= active ? 0 : active - offset;
        if (size > limit) size = limit;
        page = new AgentInfo[](size);
        uint256 seen;
        uint256 filled;
        uint256 n = _registered.length;
        for (uint256 i; i < n && filled < size; ++i) {
            address who = _registered[i];
            if (!_agents[who].active) continue;
            if (seen++ < offset) continue;
            page[filled++] = _info(who);
        }
    }

    /// @inheritdoc ICapabilityLedger
    function matchScore(address agent, bytes32 requirement) public view returns (uint256) {
        Agent storage a = _agents[agent];
        return CapabilityMath.cosine(a.capability, a.norm, requirement, CapabilityMath.norm(requirement));
    }

    /// @inheritdoc ICapabilityLedger
    function bidScore(address agent, bytes32 requirement, uint64 requirementNorm, bool reputationWeighted)
        external
        view
        returns (bool available, uint64 score)
    {
        Agent storage a = _agents[agent];
        available = a.active && a.available && a.freeCapacity > 0;
        uint256 s = CapabilityMath.cosine(a.capability, a.norm, requirement, requirementNorm);
        if (reputationWeighted) s = (s * a.reputation) / 1e18; // ≤ 2e18: fits uint64
        score = uint64(s);
    }

    // ------------------------------------------------------------------ internals

    function _checkString(string calldata s) private pure {
        if (bytes(s).length > MAX_STRING_BYTES) revert StringTooLong(bytes(s).length, MAX_STRING_BYTES);
    }

    /// @dev Validates everything `update` may change and returns the vector's norm.
    function _checkProfile(
        string calldata modelId,
        string calldata endpoint,
        string[] calldata tags,
        bytes32 capability,
        uint32 capacity
    ) private pure returns (uint64 n) {
        _checkString(modelId);
        _checkString(endpoint);
        if (tags.length > MAX_TAGS) revert TooManyTags(tags.length, MAX_TAGS);
        for (uint256 i; i < tags.length; ++i) {
            _checkString(tags[i]);
        }
        if (capacity == 0) revert InvalidCapacity();
        n = CapabilityMath.norm(capability);
        if (n == 0) revert ZeroCapability();
    }

    function _storeProfile(Agent storage a, string calldata modelId, string calldata endpoint, string[] calldata tags)
        private
    {
        a.modelId = modelId;
        a.endpoint = endpoint;
        delete a.tags;
        for (uint256 i; i < tags.length; ++i) {
            a.tags.push(tags[i]);
        }
    }

    /// @dev Emitting from storage keeps register() under the legacy pipeline's 16-slot stack limit.
    function _emitRegistered(Agent storage a) private {
        emit AgentRegistered(
            msg.sender, a.name, a.modelId, a.endpoint, a.tags, a.capability, a.norm, a.stake, a.capacity
        );
    }

    function _revertNotOwner() internal view override {
        revert NotOwner(msg.sender);
    }
}
