// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {HSTest} from "./utils/HSTest.sol";
import {RecordingLedger} from "./utils/Ledgers.sol";
import {MemeToken} from "../../../contracts/hideshill/MemeToken.sol";
import {ConstantProductPool} from "../../../contracts/hideshill/ConstantProductPool.sol";
import {PoolFactory} from "../../../contracts/hideshill/PoolFactory.sol";
import {EvaluationLog} from "../../../contracts/hideshill/EvaluationLog.sol";
import {IEvidenceLedger} from "../../../contracts/hideshill/IEvidenceLedger.sol";
import {OutcomeLib} from "../../../contracts/hideshill/OutcomeLib.sol";

/// @notice Random windows, commits, reveals, trades (by third parties and by the detectors themselves), clock
///         moves, checkpoints and resolutions, with ghost bookkeeping of who traded when.
contract LogHandler is HSTest {
    uint256 public constant H = 400;
    uint256 public constant FEE = 0.001 ether;
    MemeToken public quote;
    MemeToken public meme;
    ConstantProductPool public pool;
    EvaluationLog public log;
    RecordingLedger public ledger;
    address[3] public detectors = [address(0xD1), address(0xD2), address(0xD3)];
    address public constant TRADER = address(0x7A);
    address public constant REQUESTER = address(0xA5);

    uint256[] public entryIds;
    mapping(uint256 => bool) public selfTraded; // entry id => its detector traded after committing, before resolution
    mapping(uint256 => bool) public participantTraded; // window => a participant traded before it settled
    mapping(uint256 => mapping(address => uint256)) public commitsOf; // window => detector => successful commits
    uint256 public windowsOpened;
    uint256 public resolutions;

    constructor() {
        quote = new MemeToken("Quote", "Q");
        meme = new MemeToken("Meme", "M");
        PoolFactory factory = new PoolFactory(address(quote));
        pool = ConstantProductPool(factory.createPool(address(meme)));
        ledger = new RecordingLedger();
        log = new EvaluationLog(factory, IEvidenceLedger(address(ledger)), H, FEE, 0.01 ether);
        quote.mint(address(this), 1e30);
        meme.mint(address(this), 1e30);
        quote.approve(address(pool), type(uint256).max);
        meme.approve(address(pool), type(uint256).max);
        pool.addLiquidity(1_000e18, 1_000_000e18);
        for (uint256 i; i < 4; ++i) {
            address who = i < 3 ? detectors[i] : TRADER;
            if (i < 3) ledger.register(who, 1 ether);
            quote.mint(who, 1e27);
            meme.mint(who, 1e30);
            vm.startPrank(who);
            quote.approve(address(pool), type(uint256).max);
            meme.approve(address(pool), type(uint256).max);
            vm.stopPrank();
        }
        vm.deal(REQUESTER, 1_000 ether);
        vm.warp(block.timestamp + 500);
    }

    function openWindow(uint256 leadSeed) external {
        uint256 lead = bound(leadSeed, 1, H / 4);
        vm.prank(REQUESTER);
        log.openWindow{value: FEE}(address(pool), block.timestamp + lead, H);
        windowsOpened += 1;
    }

    function commit(uint256 detectorSeed, uint256 windowSeed, bool label) external {
        uint256 n = log.windowCount();
        if (n == 0) return;
        uint256 w = n - 1 - bound(windowSeed, 0, n > 3 ? 2 : n - 1); // mostly windows still open
        address d = detectors[bound(detectorSeed, 0, 2)];
        bytes32 c = log.computeCommitment(w, d, label ? 1 : 0, 5_000, bytes32(0), bytes32(uint256(uint160(d))));
        vm.prank(d);
        try log.commit(w, c) returns (uint256 id) {
            entryIds.push(id);
            commitsOf[w][d] += 1;
        } catch {}
    }

    function reveal(uint256 entrySeed) external {
        if (entryIds.length == 0) return;
        uint256 id = entryIds[bound(entrySeed, 0, entryIds.length - 1)];
        EvaluationLog.Evaluation memory e = log.getEvaluation(id);
        // The handler does not remember labels: try both (only the committed one opens the commitment).
        for (uint8 label; label < 2; ++label) {
            vm.prank(e.detector);
            try log.reveal(id, label, 5_000, bytes32(0), bytes32(uint256(uint160(e.detector)))) {
                return;
            } catch {}
        }
    }

    function trade(uint256 actorSeed, bool buy, uint256 amount) external {
        uint256 a = bound(actorSeed, 0, 5); // 0..2: a detector trades (self-trade), 3..5: the third party
        address who = a < 3 ? detectors[a] : TRADER;
        amount = buy ? bound(amount, 1e12, 200e18) : bound(amount, 1e15, 200_000e18);
        if (pool.getAmountOut(buy, amount) == 0) return;
        vm.prank(who);
        pool.swap(buy, amount, 0, who);
        if (a >= 3) return;
        for (uint256 i; i < entryIds.length; ++i) {
            EvaluationLog.Evaluation memory e = log.getEvaluation(entryIds[i]);
            bool open = e.status == EvaluationLog.Status.Committed || e.status == EvaluationLog.Status.Revealed;
            if (open && e.detector == who) selfTraded[entryIds[i]] = true;
            if (e.detector == who && !log.getWindow(e.windowId).settled) participantTraded[e.windowId] = true;
        }
    }

    function wait(uint256 secondsAhead) external {
        vm.warp(block.timestamp + bound(secondsAhead, 0, 300));
    }

    function checkpoint(uint256 windowSeed) external {
        uint256 n = log.windowCount();
        if (n == 0) return;
        log.checkpoint(bound(windowSeed, 0, n - 1));
    }

    /// @dev Moves the clock to the entry's horizon if needed (so sequences reach resolutions), then resolves.
    function resolve(uint256 entrySeed) external {
        if (entryIds.length == 0) return;
        uint256 id = entryIds[bound(entrySeed, 0, entryIds.length - 1)];
        EvaluationLog.Evaluation memory e = log.getEvaluation(id);
        if (block.timestamp < uint256(e.t0) + e.horizon) vm.warp(uint256(e.t0) + e.horizon);
        try log.resolve(id) {
            resolutions += 1;
        } catch {}
    }

    function entryCount() external view returns (uint256) {
        return entryIds.length;
    }
}

/// @notice What holds after any sequence of handler steps.
contract EvaluationLogInvariantTest is HSTest {
    LogHandler internal handler;

    function setUp() public {
        handler = new LogHandler();
        targetContract(address(handler));
    }

    /// @notice A detector that traded the pool after committing never gets a score above the worst: its settled
    ///         entry is Voided with -15, and the ledger took a slash for it.
    function invariant_selfTradersNeverScore() public view {
        EvaluationLog log = handler.log();
        for (uint256 i; i < handler.entryCount(); ++i) {
            uint256 id = handler.entryIds(i);
            EvaluationLog.Evaluation memory e = log.getEvaluation(id);
            bool settled = uint8(e.status) >= uint8(EvaluationLog.Status.Resolved);
            if (handler.selfTraded(id) && settled) {
                assertTrue(e.status == EvaluationLog.Status.Voided, "self-trader voided");
                assertEq(e.score, -15, "worst score");
            }
            if (e.status == EvaluationLog.Status.Voided) assertTrue(handler.selfTraded(id), "only self-traders");
            if (e.status == EvaluationLog.Status.Tainted) {
                assertEq(e.score, 0, "tainted entries score nothing");
                assertTrue(handler.participantTraded(e.windowId), "only windows a participant traded");
            }
            if (settled && e.status == EvaluationLog.Status.Resolved) {
                assertFalse(handler.participantTraded(e.windowId), "no positive or negative score in a traded window");
            }
        }
    }

    /// @notice One entry per detector per window, every entry committed before its window's t0, every window
    ///         paid for, and the detectors' running scores add up to their settled entries.
    function invariant_entriesWindowsAndScoresAddUp() public view {
        EvaluationLog log = handler.log();
        int256 settledScores;
        for (uint256 i; i < handler.entryCount(); ++i) {
            EvaluationLog.Evaluation memory e = log.getEvaluation(handler.entryIds(i));
            assertLe(handler.commitsOf(e.windowId, e.detector), 1, "one entry per detector per window");
            assertLt(e.committedAt, e.t0, "committed before t0");
            if (uint8(e.status) >= uint8(EvaluationLog.Status.Resolved)) settledScores += e.score;
            if (e.status == EvaluationLog.Status.Resolved) {
                assertEq(e.score, _documented(e.predicted, e.outcome), "score from the outcome table");
            }
        }
        int256 total;
        for (uint256 k; k < 3; ++k) {
            total += log.statsOf(handler.detectors(k)).totalScore;
        }
        assertEq(total, settledScores, "running scores = settled entries");
        assertEq(log.feesAccrued(), handler.windowsOpened() * handler.FEE(), "every window paid its fee");
        assertEq(address(log).balance, log.feesAccrued(), "fees are backed by the balance");
    }

    function _documented(uint8 predicted, OutcomeLib.Outcome outcome) private pure returns (int256) {
        bool manipulated = outcome == OutcomeLib.Outcome.MANIPULATION;
        if (predicted == 1) return manipulated ? int256(10) : (outcome == OutcomeLib.Outcome.DISCOVERY ? -15 : -5);
        return manipulated ? int256(-5) : int256(1);
    }
}
