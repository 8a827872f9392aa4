// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title ICapabilityLedger
/// @notice Registry of Symphony agents: stake, capability vector, capacity, reputation and the verified record
///         (evidence) each bid is scored on. docs/protocol.md states every rule with its numbers.
/// @dev Vectors are 32 signed 8-bit components packed big-endian in a bytes32 (docs/protocol.md).
interface ICapabilityLedger {
    /// @notice Public view of one agent. Capability, norm and tags are the *effective* ones (a scheduled change
    ///         counts once its time has come); the pending change, if any, is shown beside them.
    struct AgentInfo {
        address agent;
        string name;
        string modelId;
        string endpoint;
        string[] tags;
        bytes32 capability;
        uint64 norm; // Euclidean norm of the capability vector scaled by 1e6
        uint128 stake;
        uint64 reputation; // WAD fixed point, starts at 1e18, capped at 2e18
        uint32 capacity; // declared maximum concurrent assignments
        uint32 freeCapacity; // capacity minus assignments held now (consumed on assignment, restored on delivery/timeout)
        bool available; // from the last heartbeat
        bool active; // registered and not deregistered
        uint64 lastHeartbeat;
        uint64 unlockAt; // when a deregistered agent may withdraw its stake (0 while active)
        bytes32 pendingCapability; // scheduled vector (zero if none)
        uint64 pendingAt; // when it takes effect (0 if none)
        uint32 epoch; // profile epoch: successes recorded under an older epoch no longer count
        uint32 successes; // verified successes in this epoch, all kinds
        uint32 failures; // verified failures ever, all kinds
    }

    error InsufficientStake(uint256 sent, uint256 minimum);
    error AlreadyRegistered(address agent);
    error NotRegistered(address agent);
    error ZeroCapability();
    error TooManyTags(uint256 count, uint256 maximum);
    error StringTooLong(uint256 length, uint256 maximum);
    error CooldownActive(uint64 unlockAt);
    error NothingToWithdraw();
    error NotAuthorized(address caller);
    error NotOwner(address caller);
    error TransferFailed();
    error InvalidCapacity();
    /// @notice withdrawStake before deregister().
    error AgentStillActive(address agent);
    /// @notice withdrawStake while the agent still holds assignments (it could still be slashed for them).
    error AssignmentsOpen(address agent, uint256 held);
    /// @notice addStake without value, or a stake that no longer fits the packed uint96.
    error InvalidStake(uint256 value);

    event AgentRegistered(
        address indexed agent,
        string name,
        string modelId,
        string endpoint,
        string[] tags,
        bytes32 capability,
        uint64 norm,
        uint256 stake,
        uint32 capacity
    );
    /// @notice Model id, endpoint and capacity changed at once; `capability`/`tags` take effect at `effectiveAt`.
    event AgentUpdated(
        address indexed agent,
        string modelId,
        string endpoint,
        string[] tags,
        bytes32 capability,
        uint64 norm,
        uint32 capacity,
        uint64 effectiveAt
    );
    event Heartbeat(address indexed agent, bool available, uint32 freeCapacity);
    event AgentDeregistered(address indexed agent, uint64 unlockAt);
    event StakeAdded(address indexed agent, uint256 amount, uint256 stake);
    event StakeWithdrawn(address indexed agent, uint256 amount);
    event ReputationChanged(address indexed agent, uint64 reputation, int256 delta, address indexed by);
    event ProtocolAuthorized(address indexed protocol, bool authorized);
    /// @notice A verified outcome of one piece of work of kind `kind`; `successes`/`failures` are the new counts.
    event EvidenceRecorded(
        address indexed agent, bytes32 indexed kind, bool success, uint32 successes, uint32 failures, address indexed by
    );
    /// @notice `amount` of the agent's stake went to `to` (the zero address: burned, locked in this contract).
    event StakeSlashed(address indexed agent, uint256 amount, address indexed to, address indexed by);

    function register(
        string calldata name,
        string calldata modelId,
        string calldata endpoint,
        string[] calldata tags,
        bytes32 capability,
        uint32 capacity
    ) external payable;
    function update(string calldata modelId, string calldata endpoint, string[] calldata tags, bytes32 capability, uint32 capacity) external;
    function heartbeat(bool available) external;
    function addStake() external payable;
    function deregister() external;
    function withdrawStake() external;

    // ---------------------------------------------------------------- protocol contracts (authorised only)

    /// @notice Move an agent's reputation by `delta` (WAD), clamped to [0, 2e18].
    function adjustReputation(address agent, int256 delta) external;
    /// @notice A verified outcome of one piece of work of kind `kind` (docs/protocol.md "Evidence").
    function recordEvidence(address agent, bytes32 kind, bool success) external;
    /// @notice Move up to `amount` of the agent's stake to `to`, or burn it (`to` = address(0)); returns what moved.
    function slash(address agent, uint256 amount, address to) external returns (uint256 taken);
    /// @notice Take one unit of the agent's capacity for an assignment; false (nothing changes) if it may not take
    ///         one now: not eligible to bid, no free capacity, or a stake below slashUnit per assignment held
    ///         (this one included) plus `atRisk`, what a failure of this assignment could claw back.
    function reserve(address agent, uint256 atRisk) external returns (bool);
    /// @notice Give back one unit of capacity (delivery or timeout); no-op if none is held.
    function release(address agent) external;
    function setAuthorized(address protocol, bool authorized) external;

    // ---------------------------------------------------------------- views

    function minStake() external view returns (uint256);
    function cooldown() external view returns (uint64);
    /// @notice Stake that backs one assignment, and the base of every slash: minStake / 10.
    function slashUnit() external view returns (uint256);
    function isActive(address agent) external view returns (bool);
    /// @notice May the agent bid now (active, available, reputation ≥ 0.5, stake ≥ slashUnit)? Free capacity is
    ///         checked when work is assigned (`reserve`).
    function isAvailable(address agent) external view returns (bool);
    function reputationOf(address agent) external view returns (uint64);
    function stakeOf(address agent) external view returns (uint256);
    function getAgent(address agent) external view returns (AgentInfo memory);
    function activeAgentCount() external view returns (uint256);
    /// @notice Active agents, `limit` at most from `offset` (the active set is swap-and-pop: a deregistration moves
    ///         the last agent into the freed position).
    function getActiveAgents(uint256 offset, uint256 limit) external view returns (AgentInfo[] memory);
    /// @notice Cosine match score (WAD, clamped to [0, 1e18]) of an agent's effective vector against `requirement`.
    function matchScore(address agent, bytes32 requirement) external view returns (uint256);
    /// @notice (successes in the current epoch, failures ever) of `agent` for work of kind `kind`.
    function evidenceOf(address agent, bytes32 kind) external view returns (uint32 successes, uint32 failures);
    /// @notice The trust factor T (WAD, in (0, 1e18)) of docs/protocol.md for `agent` on work of kind `kind`.
    function trustOf(address agent, bytes32 kind) external view returns (uint256);
    /// @notice What TaskBeacon.bid needs in one call: may the agent bid, its score = matchScore · trustOf / 1e18,
    ///         and whether it is a newcomer (fewer than 3 verified outcomes in all).
    function bidScore(address agent, bytes32 requirement, bytes32 kind)
        external
        view
        returns (bool eligible, uint64 score, bool newcomer);
    function authorized(address protocol) external view returns (bool);
    /// @notice Total stake burned by slashes with `to` = address(0).
    function burnedStake() external view returns (uint256);
}
