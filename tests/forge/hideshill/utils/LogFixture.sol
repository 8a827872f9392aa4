// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MarketFixture} from "./MarketFixture.sol";
import {RecordingLedger} from "./Ledgers.sol";
import {EvaluationLog} from "../../../../contracts/hideshill/EvaluationLog.sol";
import {IEvidenceLedger} from "../../../../contracts/hideshill/IEvidenceLedger.sol";

/// @notice The market of MarketFixture plus an EvaluationLog on a recording ledger with two registered, staked
///         detectors, a requester with ETH for window fees, and a detector able to trade (tokens + approvals).
abstract contract LogFixture is MarketFixture {
    uint256 internal constant H = 400; // the deployment's minimum: four sub-windows of 100 s
    uint256 internal constant LEAD = 10; // window opened 10 s before its t0
    uint256 internal constant FEE = 0.001 ether;
    uint256 internal constant MIN_STAKE = 0.01 ether;
    uint256 internal constant STAKE = 1 ether;
    address internal constant DETECTOR = address(0xDE7EC7);
    address internal constant OTHER = address(0x07E5);
    address internal constant REQUESTER = address(0xA5C);
    address internal constant TRADER = address(0x7AADE5);
    bytes32 internal constant MODEL = keccak256("model-v1");
    bytes32 internal constant SALT = keccak256("salt");

    EvaluationLog internal log;
    RecordingLedger internal ledger;
    uint256 internal wid; // the window opened in setUp
    uint256 internal t0;

    function setUp() public virtual override {
        super.setUp();
        ledger = new RecordingLedger();
        ledger.register(DETECTOR, STAKE);
        ledger.register(OTHER, STAKE);
        log = new EvaluationLog(factory, IEvidenceLedger(address(ledger)), H, FEE, MIN_STAKE);
        vm.deal(REQUESTER, 100 ether);
        for (uint256 i; i < 2; ++i) {
            address trader = i == 0 ? DETECTOR : TRADER;
            quote.mint(trader, 1e24);
            meme.mint(trader, 1e27);
            vm.startPrank(trader);
            quote.approve(address(pool), type(uint256).max);
            meme.approve(address(pool), type(uint256).max);
            vm.stopPrank();
        }
        vm.warp(START + 200); // 200 s of flat history before the window opens
        (wid, t0) = _open(LEAD);
    }

    function _open(uint256 lead) internal returns (uint256 windowId, uint256 start) {
        start = block.timestamp + lead;
        vm.prank(REQUESTER);
        windowId = log.openWindow{value: FEE}(address(pool), start, H);
    }

    function _commitAs(address detector, uint256 windowId, uint8 label, uint16 confidence)
        internal
        returns (uint256 id)
    {
        bytes32 c = log.computeCommitment(windowId, detector, label, confidence, MODEL, SALT);
        vm.prank(detector);
        id = log.commit(windowId, c);
    }

    function _commitRevealAs(address detector, uint256 windowId, uint8 label) internal returns (uint256 id) {
        id = _commitAs(detector, windowId, label, 7_000);
        vm.prank(detector);
        log.reveal(id, label, 7_000, MODEL, SALT);
    }

    function _commit(uint8 label, uint16 confidence) internal returns (uint256) {
        return _commitAs(DETECTOR, wid, label, confidence);
    }

    function _commitReveal(uint8 label) internal returns (uint256) {
        return _commitRevealAs(DETECTOR, wid, label);
    }

    function _swapAs(address who, bool buy, uint256 amount) internal returns (uint256 out) {
        vm.prank(who);
        out = pool.swap(buy, amount, 0, who);
    }

    /// Pump at t0+10, dump everything at t0+150: transient abnormal return (by the test contract, a third party).
    function _pumpAndDump() internal {
        vm.warp(t0 + 10);
        uint256 bought = _buy(200e18);
        vm.warp(t0 + 150);
        _sell(bought);
    }

    /// Informed buying at t0+10 that is never reversed: persistent move.
    function _discovery() internal {
        vm.warp(t0 + 10);
        _buy(200e18);
    }

    function _resolveAt(uint256 id, uint256 when) internal returns (EvaluationLog.Evaluation memory) {
        vm.warp(when);
        log.resolve(id);
        return log.getEvaluation(id);
    }
}
