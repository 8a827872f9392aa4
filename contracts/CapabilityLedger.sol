// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ICapabilityLedger} from "./interfaces/ICapabilityLedger.sol";
import {CapabilityMath} from "./lib/CapabilityMath.sol";
import {Owned} from "./lib/Owned.sol";

/// @title CapabilityLedger
/// @notice Registry of Symphony agents: stake, capability vector, capacity, reputation, and the verified record of
///         their work (evidence) that bid scores rest on (docs/protocol.md).
/// @dev Why evidence and not claims: a declared vector costs nothing to fake (v1 let an agent copy a beacon's
///      requirement and win it). A bid's score is the declared match times a trust factor built from verified
///      outcomes of the same kind of work, so a liar's score falls with every failure. Vector and tag changes are
///      scheduled `PROFILE_DELAY` ahead (longer than any bid window) and start a new epoch in which earlier
///      successes no longer count (failures always do).
///      Storage: `bidScore` reads the vector slot, the hot slot, the stake slot and one evidence slot.
contract CapabilityLedger is ICapabilityLedger, Owned {
    /// @notice Most capability tags one agent may declare.
    uint256 public constant MAX_TAGS = 16;
    /// @notice Longest name / model id / endpoint / tag, in bytes.
    uint256 public constant MAX_STRING_BYTES = 256;
    /// @notice Starting reputation (1.0 in WAD).
    uint64 public constant INITIAL_REPUTATION = 1e18;
    /// @notice Reputation ceiling (2.0 in WAD); the floor is 0.
    uint64 public constant MAX_REPUTATION = 2e18;
    /// @notice Reputation below which an agent may not bid (0.5 in WAD).
    uint64 public constant MIN_BID_REPUTATION = 0.5e18;
    /// @notice Delay before a new vector or tag set counts: longer than TaskBeacon.MAX_BID_WINDOW (30 min).
    uint64 public constant PROFILE_DELAY = 1 hours;
    /// @notice An agent with fewer verified outcomes (all kinds) than this is a newcomer (exploration slots).
    uint256 public constant NEWCOMER_OUTCOMES = 3;

    uint256 internal constant WAD = 1e18;
    uint256 internal constant MAX_COUNT24 = type(uint24).max;
    uint256 internal constant MAX_COUNT32 = type(uint32).max;

    /// @dev slot 0: capability; slot 1 (hot): everything a bid, a reservation or a reputation change touches;
    ///      slot 2: stake and the global record. Timestamps are uint40 (good until year 36812).
    struct Agent {
        bytes32 capability; // slot 0
        uint64 reputation; // slot 1
        uint32 norm;
        uint16 capacity;
        uint16 inUse;
        uint32 epoch;
        uint40 lastHeartbeat;
        bool available;
        bool active;
        bool listed; // ever registered: reputation initialised
        uint96 stake; // slot 2
        uint40 unlockAt;
        uint40 pendingAt;
        uint24 successes; // all kinds, current epoch
        uint24 failures; // all kinds, ever
        uint32 activePos; // 1-based index in _active, 0 = not in the active set
        bytes32 pendingCapability; // slot 3
        bytes32 tagsHash; // slot 4: keccak256(abi.encode(tags)) of the effective tags
        bytes32 pendingTagsHash; // slot 5: the same for the scheduled tags
        string name;
        string modelId;
        string endpoint;
        string[] tags;
        string[] pendingTags;
    }

    /// @dev One slot per (agent, kind).
    struct Evidence {
        uint32 successes; // in `epoch`
        uint32 failures; // ever
        uint32 epoch;
    }

    /// @inheritdoc ICapabilityLedger
    uint256 public immutable minStake;
    /// @inheritdoc ICapabilityLedger
    uint64 public immutable cooldown;
    /// @inheritdoc ICapabilityLedger
    mapping(address => bool) public authorized;
    /// @inheritdoc ICapabilityLedger
    uint256 public burnedStake;

    mapping(address => Agent) internal _agents;
    mapping(address => mapping(bytes32 => Evidence)) internal _evidence;
    /// @dev The active set, swap-and-pop: paging never scans addresses that left.
    address[] internal _active;

    /// @param minStake_ smallest stake (wei) accepted by register (also sets slashUnit = minStake / 10)
    /// @param cooldown_ seconds between deregister and withdrawStake
    constructor(uint256 minStake_, uint64 cooldown_) Owned(msg.sender) {
        minStake = minStake_;
        cooldown = cooldown_;
    }

    modifier onlyProtocol() {
        if (!authorized[msg.sender]) revert NotAuthorized(msg.sender);
        _;
    }

    // ------------------------------------------------------------------ agent lifecycle

    /// @notice Register msg.sender with a stake (msg.value ≥ minStake); counts as a first heartbeat (available).
    ///         A first registration's vector counts at once; a returning agent keeps its reputation and record,
    ///         and its new vector and tags are scheduled like an update (its previous ones count meanwhile).
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
        if (msg.value > type(uint96).max) revert InvalidStake(msg.value);
        _checkString(name);
        uint32 n = _checkProfile(modelId, endpoint, tags, capability, capacity);

        if (!a.listed) {
            a.listed = true;
            a.reputation = INITIAL_REPUTATION;
            a.capability = capability;
            a.norm = n;
            _storeTags(a.tags, tags);
            a.tagsHash = keccak256(abi.encode(tags));
        } else {
            _sync(a);
            _reschedule(a, tags, capability);
        }
        a.stake = uint96(msg.value);
        a.capacity = uint16(capacity);
        a.available = true;
        a.active = true;
        a.lastHeartbeat = uint40(block.timestamp);
        a.unlockAt = 0;
        a.name = name;
        a.modelId = modelId;
        a.endpoint = endpoint;
        _active.push(msg.sender);
        a.activePos = uint32(_active.length);
        _emitRegistered(a);
    }

    /// @notice Change model id, endpoint and capacity now; a changed vector or tag set is scheduled
    ///         PROFILE_DELAY ahead (replacing any change still pending) and then starts a new evidence epoch.
    function update(
        string calldata modelId,
        string calldata endpoint,
        string[] calldata tags,
        bytes32 capability,
        uint32 capacity
    ) external {
        Agent storage a = _agents[msg.sender];
        if (!a.active) revert NotRegistered(msg.sender);
        uint32 n = _checkProfile(modelId, endpoint, tags, capability, capacity);
        _sync(a);
        a.modelId = modelId;
        a.endpoint = endpoint;
        a.capacity = uint16(capacity);
        uint64 effectiveAt = _reschedule(a, tags, capability);
        emit AgentUpdated(msg.sender, modelId, endpoint, tags, capability, n, capacity, effectiveAt);
    }

    /// @notice Report availability. Free capacity is the ledger's own count (capacity minus assignments held).
    function heartbeat(bool available) external {
        Agent storage a = _agents[msg.sender];
        if (!a.active) revert NotRegistered(msg.sender);
        _sync(a);
        a.available = available;
        a.lastHeartbeat = uint40(block.timestamp);
        emit Heartbeat(msg.sender, available, _free(a));
    }

    /// @notice Top up the stake (after slashes, or to back more concurrent assignments).
    function addStake() external payable {
        Agent storage a = _agents[msg.sender];
        if (!a.active) revert NotRegistered(msg.sender);
        uint256 stake = uint256(a.stake) + msg.value;
        if (msg.value == 0 || stake > type(uint96).max) revert InvalidStake(msg.value);
        a.stake = uint96(stake);
        emit StakeAdded(msg.sender, msg.value, stake);
    }

    /// @notice Leave the active set; the stake unlocks `cooldown` seconds later (and once no assignment is held).
    function deregister() external {
        Agent storage a = _agents[msg.sender];
        if (!a.active) revert NotRegistered(msg.sender);
        uint40 unlockAt = uint40(block.timestamp + cooldown);
        a.active = false;
        a.available = false;
        a.unlockAt = unlockAt;
        _removeActive(a);
        emit AgentDeregistered(msg.sender, unlockAt);
    }

    /// @notice Withdraw the whole stake once deregistered, the cooldown is over and no assignment is held.
    function withdrawStake() external {
        Agent storage a = _agents[msg.sender];
        uint256 amount = a.stake;
        if (amount == 0) revert NothingToWithdraw();
        if (a.active) revert AgentStillActive(msg.sender);
        if (block.timestamp < a.unlockAt) revert CooldownActive(a.unlockAt);
        if (a.inUse != 0) revert AssignmentsOpen(msg.sender, a.inUse);
        a.stake = 0;
        a.unlockAt = 0;
        emit StakeWithdrawn(msg.sender, amount);
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert TransferFailed();
    }

    // ------------------------------------------------------------------ protocol hooks

    /// @inheritdoc ICapabilityLedger
    function adjustReputation(address agent, int256 delta) external onlyProtocol {
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

    /// @inheritdoc ICapabilityLedger
    /// @dev Successes count only in the epoch they were earned in; failures are kept across epochs, so changing
    ///      the declared profile never erases a bad record. Counters saturate instead of wrapping.
    function recordEvidence(address agent, bytes32 kind, bool success) external onlyProtocol {
        Agent storage a = _agents[agent];
        if (!a.listed) revert NotRegistered(agent);
        _sync(a);
        Evidence storage e = _evidence[agent][kind];
        uint32 epoch = a.epoch;
        uint32 s = e.epoch == epoch ? e.successes : 0;
        uint32 f = e.failures;
        if (success) {
            if (s < MAX_COUNT32) ++s;
            if (a.successes < MAX_COUNT24) ++a.successes;
        } else {
            if (f < MAX_COUNT32) ++f;
            if (a.failures < MAX_COUNT24) ++a.failures;
        }
        _evidence[agent][kind] = Evidence({successes: s, failures: f, epoch: epoch});
        emit EvidenceRecorded(agent, kind, success, s, f, msg.sender);
    }

    /// @inheritdoc ICapabilityLedger
    /// @dev Works on deregistered agents too (their stake is still here during the cooldown). Burned stake stays
    ///      locked in this contract for ever (`burnedStake`), so no party profits from somebody being slashed.
    function slash(address agent, uint256 amount, address to) external onlyProtocol returns (uint256 taken) {
        Agent storage a = _agents[agent];
        uint256 stake = a.stake;
        taken = amount < stake ? amount : stake;
        if (taken == 0) return 0;
        unchecked {
            // cannot underflow: taken <= stake
            a.stake = uint96(stake - taken);
        }
        if (to == address(0)) burnedStake += taken;
        emit StakeSlashed(agent, taken, to, msg.sender);
        if (to != address(0)) {
            (bool ok,) = to.call{value: taken}("");
            if (!ok) revert TransferFailed();
        }
    }

    /// @inheritdoc ICapabilityLedger
    function reserve(address agent, uint256 atRisk) external onlyProtocol returns (bool) {
        Agent storage a = _agents[agent];
        _sync(a);
        if (!_eligible(a) || a.inUse >= a.capacity || a.stake < (uint256(a.inUse) + 1) * slashUnit() + atRisk) {
            return false;
        }
        uint16 inUse = a.inUse + 1; // < capacity <= 2^16 - 1 by _eligible
        a.inUse = inUse;
        return true;
    }

    /// @inheritdoc ICapabilityLedger
    function release(address agent) external onlyProtocol {
        Agent storage a = _agents[agent];
        uint16 inUse = a.inUse;
        if (inUse == 0) return;
        unchecked {
            // cannot underflow: checked above
            --inUse;
        }
        a.inUse = inUse;
    }

    /// @notice Allow or forbid a protocol contract to call the hooks above. Owner only.
    function setAuthorized(address protocol, bool isAuthorized) external onlyOwner {
        authorized[protocol] = isAuthorized;
        emit ProtocolAuthorized(protocol, isAuthorized);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc ICapabilityLedger
    function slashUnit() public view returns (uint256) {
        return minStake / 10;
    }

    /// @inheritdoc ICapabilityLedger
    function isActive(address agent) external view returns (bool) {
        return _agents[agent].active;
    }

    /// @inheritdoc ICapabilityLedger
    function isAvailable(address agent) external view returns (bool) {
        return _eligible(_agents[agent]);
    }

    /// @inheritdoc ICapabilityLedger
    function reputationOf(address agent) external view returns (uint64) {
        return _agents[agent].reputation;
    }

    /// @inheritdoc ICapabilityLedger
    function stakeOf(address agent) external view returns (uint256) {
        return _agents[agent].stake;
    }

    /// @inheritdoc ICapabilityLedger
    function getAgent(address agent) external view returns (AgentInfo memory) {
        return _info(agent);
    }

    /// @inheritdoc ICapabilityLedger
    function activeAgentCount() external view returns (uint256) {
        return _active.length;
    }

    /// @inheritdoc ICapabilityLedger
    function getActiveAgents(uint256 offset, uint256 limit) external view returns (AgentInfo[] memory page) {
        uint256 n = _active.length;
        uint256 size = offset >= n ? 0 : n - offset;
        if (size > limit) size = limit;
        page = new AgentInfo[](size);
        for (uint256 i; i < size; ++i) {
            page[i] = _info(_active[offset + i]);
        }
    }

    /// @inheritdoc ICapabilityLedger
    function matchScore(address agent, bytes32 requirement) external view returns (uint256) {
        (bytes32 cap, uint32 n,,) = _effective(_agents[agent]);
        return CapabilityMath.cosine(cap, n, requirement, CapabilityMath.norm(requirement));
    }

    /// @inheritdoc ICapabilityLedger
    function evidenceOf(address agent, bytes32 kind) public view returns (uint32 successes, uint32 failures) {
        (,, uint32 epoch,) = _effective(_agents[agent]);
        Evidence storage e = _evidence[agent][kind];
        return (e.epoch == epoch ? e.successes : 0, e.failures);
    }

    /// @inheritdoc ICapabilityLedger
    function trustOf(address agent, bytes32 kind) external view returns (uint256) {
        Agent storage a = _agents[agent];
        (,, uint32 epoch, bool promoted) = _effective(a);
        return _trust(a, _evidence[agent][kind], epoch, promoted);
    }

    /// @inheritdoc ICapabilityLedger
    function bidScore(address agent, bytes32 requirement, bytes32 kind)
        external
        view
        returns (bool eligible, uint64 score, bool newcomer)
    {
        Agent storage a = _agents[agent];
        eligible = _eligible(a);
        (uint256 m, uint256 t, bool promoted) = _matchAndTrust(a, _evidence[agent][kind], requirement);
        score = uint64((m * t) / WAD); // both <= 1e18
        newcomer = _outcomes(a, promoted) < NEWCOMER_OUTCOMES;
    }

    // ------------------------------------------------------------------ internals

    /// @dev T = (s + 2·G) / (s + f + 2) with G = (S + 1) / (S + F + 2): the kind's Laplace estimate shrunk
    ///      towards the agent's overall record (docs/protocol.md "Score"). A fresh agent has T = 0.5.
    function _trust(Agent storage a, Evidence storage e, uint32 epoch, bool promoted) private view returns (uint256) {
        uint256 gS = promoted ? 0 : a.successes;
        uint256 gF = a.failures;
        uint256 g = ((gS + 1) * WAD) / (gS + gF + 2);
        uint256 s = e.epoch == epoch ? e.successes : 0;
        uint256 f = e.failures;
        return (s * WAD + 2 * g) / (s + f + 2);
    }

    function _matchAndTrust(Agent storage a, Evidence storage e, bytes32 requirement)
        private
        view
        returns (uint256 m, uint256 t, bool promoted)
    {
        bytes32 cap;
        uint32 n;
        uint32 epoch;
        (cap, n, epoch, promoted) = _effective(a);
        m = CapabilityMath.cosine(cap, n, requirement, CapabilityMath.norm(requirement));
        t = _trust(a, e, epoch, promoted);
    }

    function _outcomes(Agent storage a, bool promoted) private view returns (uint256) {
        return (promoted ? 0 : uint256(a.successes)) + a.failures;
    }

    /// @dev The capability, norm and epoch that count now, and whether a scheduled change is due but not yet
    ///      written back (views see it at once; `_sync` writes it on the agent's next state change).
    function _effective(Agent storage a) private view returns (bytes32 cap, uint32 n, uint32 epoch, bool promoted) {
        uint40 at = a.pendingAt;
        if (at != 0 && block.timestamp >= at) {
            cap = a.pendingCapability;
            return (cap, uint32(CapabilityMath.norm(cap)), a.epoch + 1, true);
        }
        return (a.capability, a.norm, a.epoch, false);
    }

    /// @dev Write a due scheduled change back: new vector and tags, next epoch (earlier successes stop counting).
    function _sync(Agent storage a) private {
        uint40 at = a.pendingAt;
        if (at == 0 || block.timestamp < at) return;
        bytes32 cap = a.pendingCapability;
        a.capability = cap;
        a.norm = uint32(CapabilityMath.norm(cap));
        a.epoch += 1;
        a.successes = 0;
        a.pendingAt = 0;
        a.pendingCapability = bytes32(0);
        a.tagsHash = a.pendingTagsHash;
        a.pendingTagsHash = bytes32(0);
        string[] storage pending = a.pendingTags;
        string[] storage tags = a.tags;
        delete a.tags;
        for (uint256 i; i < pending.length; ++i) {
            tags.push(pending[i]);
        }
        delete a.pendingTags;
    }

    /// @dev A declaration equal to the effective profile cancels any scheduled change; one equal to the scheduled
    ///      change keeps its time (a restarted agent re-sending it does not push it back); anything else is
    ///      scheduled anew. Returns when the declared profile counts.
    function _reschedule(Agent storage a, string[] calldata tags, bytes32 capability) private returns (uint64) {
        bytes32 h = keccak256(abi.encode(tags));
        if (capability == a.capability && h == a.tagsHash) {
            if (a.pendingAt != 0) {
                a.pendingAt = 0;
                a.pendingCapability = bytes32(0);
                a.pendingTagsHash = bytes32(0);
                delete a.pendingTags;
            }
            return uint64(block.timestamp);
        }
        if (a.pendingAt != 0 && capability == a.pendingCapability && h == a.pendingTagsHash) return a.pendingAt;
        return _schedule(a, tags, capability, h);
    }

    /// @dev Schedule `capability`/`tags` PROFILE_DELAY ahead; returns when they take effect.
    function _schedule(Agent storage a, string[] calldata tags, bytes32 capability, bytes32 h)
        private
        returns (uint64 at)
    {
        at = uint64(block.timestamp) + PROFILE_DELAY;
        a.pendingAt = uint40(at);
        a.pendingCapability = capability;
        a.pendingTagsHash = h;
        _storeTags(a.pendingTags, tags);
    }

    /// @dev May bid: active, available, reputation ≥ 0.5 and stake for at least one assignment. Free capacity is
    ///      checked when work is assigned (`reserve`), so a busy agent still bids and is skipped if still busy.
    function _eligible(Agent storage a) private view returns (bool) {
        return a.active && a.available && a.reputation >= MIN_BID_REPUTATION && a.stake >= slashUnit();
    }

    function _free(Agent storage a) private view returns (uint32) {
        return a.inUse >= a.capacity ? 0 : a.capacity - a.inUse;
    }

    function _removeActive(Agent storage a) private {
        uint256 pos = a.activePos;
        uint256 last = _active.length;
        if (pos != last) {
            address moved = _active[last - 1];
            _active[pos - 1] = moved;
            _agents[moved].activePos = uint32(pos);
        }
        _active.pop();
        a.activePos = 0;
    }

    function _info(address agent) internal view returns (AgentInfo memory info) {
        Agent storage a = _agents[agent];
        (bytes32 cap, uint32 n, uint32 epoch, bool promoted) = _effective(a);
        info.agent = agent;
        info.name = a.name;
        info.modelId = a.modelId;
        info.endpoint = a.endpoint;
        info.tags = promoted ? a.pendingTags : a.tags;
        info.capability = cap;
        info.norm = n;
        info.stake = a.stake;
        info.reputation = a.reputation;
        info.capacity = a.capacity;
        info.freeCapacity = _free(a);
        info.available = a.available;
        info.active = a.active;
        info.lastHeartbeat = a.lastHeartbeat;
        info.unlockAt = a.unlockAt;
        if (!promoted) {
            info.pendingCapability = a.pendingCapability;
            info.pendingAt = a.pendingAt;
        }
        info.epoch = epoch;
        info.successes = promoted ? 0 : a.successes;
        info.failures = a.failures;
    }

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
    ) private pure returns (uint32 n) {
        _checkString(modelId);
        _checkString(endpoint);
        if (tags.length > MAX_TAGS) revert TooManyTags(tags.length, MAX_TAGS);
        for (uint256 i; i < tags.length; ++i) {
            _checkString(tags[i]);
        }
        if (capacity == 0 || capacity > type(uint16).max) revert InvalidCapacity();
        n = uint32(CapabilityMath.norm(capability)); // <= 7.3e8 < 2^32
        if (n == 0) revert ZeroCapability();
    }

    function _storeTags(string[] storage target, string[] calldata tags) private {
        for (uint256 i = target.length; i > 0; --i) {
            target.pop();
        }
        for (uint256 i; i < tags.length; ++i) {
            target.push(tags[i]);
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
