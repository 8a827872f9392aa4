// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title ICapabilityLedger
/// @notice Registry of Symphony agents: stake, capability vector, availability and reputation.
/// @dev Vectors are 32 signed 8-bit components packed big-endian in a bytes32 (docs/protocol.md).
interface ICapabilityLedger {
    /// @notice Public view of one agent.
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
        uint32 capacity; // declared maximum concurrent subtasks
        uint32 freeCapacity; // from the last heartbeat
        bool available; // from the last heartbeat
        bool active; // registered and not deregistered
        uint64 lastHeartbeat;
        uint64 unlockAt; // when a deregistered agent may withdraw its stake (0 while active)
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
    /// @notice Added by the contracts helper: withdrawStake before deregister().
    error AgentStillActive(address agent);

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
    event AgentUpdated(address indexed agent, string modelId, string endpoint, string[] tags, bytes32 capability, uint64 norm, uint32 capacity);
    event Heartbeat(address indexed agent, bool available, uint32 freeCapacity);
    event AgentDeregistered(address indexed agent, uint64 unlockAt);
    event StakeWithdrawn(address indexed agent, uint256 amount);
    event ReputationChanged(address indexed agent, uint64 reputation, int256 delta, address indexed by);
    event ProtocolAuthorized(address indexed protocol, bool authorized);

    function register(
        string calldata name,
        string calldata modelId,
        string calldata endpoint,
        string[] calldata tags,
        bytes32 capability,
        uint32 capacity
    ) external payable;
    function update(string calldata modelId, string calldata endpoint, string[] calldata tags, bytes32 capability, uint32 capacity) external;
    function heartbeat(bool available, uint32 freeCapacity) external;
    function deregister() external;
    function withdrawStake() external;

    /// @notice Only contracts the owner authorised may move reputation.
    function adjustReputation(address agent, int256 delta) external;
    function setAuthorized(address protocol, bool authorized) external;

    function minStake() external view returns (uint256);
    function cooldown() external view returns (uint64);
    function isActive(address agent) external view returns (bool);
    function isAvailable(address agent) external view returns (bool);
    function reputationOf(address agent) external view returns (uint64);
    function getAgent(address agent) external view returns (AgentInfo memory);
    function activeAgentCount() external view returns (uint256);
    /// @notice Active agents in registration order, `limit` at most from `offset`.
    function getActiveAgents(uint256 offset, uint256 limit) external view returns (AgentInfo[] memory);
    /// @notice Cosine match score (WAD, clamped to [0, 1e18]) of an agent's stored vector against `requirement`.
    function matchScore(address agent, bytes32 requirement) external view returns (uint256);
    /// @notice Added for TaskBeacon.bid (one call instead of three): availability and the bid score
    ///         (matchScore, times reputation / 1e18 if `reputationWeighted`). `requirementNorm` is
    ///         isqrt(Σ r_i² · 1e12) of `requirement`, precomputed once by the caller.
    function bidScore(address agent, bytes32 requirement, uint64 requirementNorm, bool reputationWeighted)
        external
        view
        returns (bool available, uint64 score);
    /// @notice Added: whether `protocol` may call adjustReputation.
    function authorized(address protocol) external view returns (bool);
}
