// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice Test double of the protocol-v2 CapabilityLedger surface `EvaluationLog` calls (IEvidenceLedger):
///         registration and stake are set by the test, every state-changing call is recorded. Unit tests only;
///         the real CapabilityLedger is exercised in EvaluationLogLedger.t.sol and tests/detector.
contract RecordingLedger {
    struct EvidenceCall {
        address agent;
        bytes32 kind;
        bool success;
    }

    struct SlashCall {
        address agent;
        uint256 amount;
        address to;
    }

    mapping(address => bool) public isActive;
    mapping(address => uint256) public stakeOf;
    mapping(address => int256) internal _moved;
    uint256 public minStake = 0.01 ether;

    address public lastAgent;
    int256 public lastDelta;
    uint256 public calls; // adjustReputation calls
    EvidenceCall[] public evidence;
    SlashCall[] public slashes;

    function register(address agent, uint256 stake) external {
        isActive[agent] = true;
        stakeOf[agent] = stake;
    }

    function deregister(address agent) external {
        isActive[agent] = false;
    }

    function reputationOf(address agent) external view returns (uint64) {
        return uint64(uint256(1e18 + _moved[agent]));
    }

    function adjustReputation(address agent, int256 delta) external {
        lastAgent = agent;
        lastDelta = delta;
        calls += 1;
        _moved[agent] += delta;
    }

    function recordEvidence(address agent, bytes32 kind, bool success) public virtual {
        evidence.push(EvidenceCall(agent, kind, success));
    }

    function slash(address agent, uint256 amount, address to) public virtual {
        stakeOf[agent] -= amount;
        slashes.push(SlashCall(agent, amount, to));
    }

    function evidenceCount() external view returns (uint256) {
        return evidence.length;
    }

    function slashCount() external view returns (uint256) {
        return slashes.length;
    }
}

/// @notice A ledger that refuses every state change (e.g. the log is not authorised), but registers agents.
contract RefusingLedger {
    error NotAuthorized(address caller);

    mapping(address => bool) public isActive;

    function register(address agent, uint256) external {
        isActive[agent] = true;
    }

    function stakeOf(address) external pure returns (uint256) {
        return 1 ether;
    }

    function minStake() external pure returns (uint256) {
        return 1 ether;
    }

    function reputationOf(address) external pure returns (uint64) {
        return 1e18;
    }

    function adjustReputation(address, int256) external view {
        revert NotAuthorized(msg.sender);
    }

    function recordEvidence(address, bytes32, bool) external view {
        revert NotAuthorized(msg.sender);
    }

    function slash(address, uint256, address) external view {
        revert NotAuthorized(msg.sender);
    }
}

/// @notice The v1 ledger surface: registration, `minStake`, reputation; no `stakeOf`, `recordEvidence`, `slash`.
contract V1Ledger {
    mapping(address => bool) public isActive;
    mapping(address => int256) internal _moved;
    uint256 public minStake;
    uint256 public calls;

    constructor(uint256 minStake_) {
        minStake = minStake_;
    }

    function register(address agent, uint256) external {
        isActive[agent] = true;
    }

    function reputationOf(address agent) external view returns (uint64) {
        return uint64(uint256(1e18 + _moved[agent]));
    }

    function adjustReputation(address agent, int256 delta) external {
        calls += 1;
        _moved[agent] += delta;
    }
}

/// @notice A RecordingLedger whose evidence and slash calls cost ~170k gas each (still under the log's stipend),
///         so a resolver sending just too little gas could make them fail while the resolution itself completes —
///         unless the log refuses to call them without the full stipend.
contract HungryLedger is RecordingLedger {
    uint256 internal _sink;

    function _burn() internal {
        uint256 start = gasleft();
        while (start - gasleft() < 100_000) {
            _sink = _sink == 1 ? 2 : 1;
        }
    }

    function recordEvidence(address agent, bytes32 kind, bool success) public override {
        _burn();
        super.recordEvidence(agent, kind, success);
    }

    function slash(address agent, uint256 amount, address to) public override {
        _burn();
        super.slash(agent, amount, to);
    }
}
