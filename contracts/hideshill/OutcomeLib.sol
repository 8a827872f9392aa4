// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title OutcomeLib
/// @notice The realised-label rule and the prediction score of docs/hideshill_protocol.md, as pure functions.
/// @dev Kept apart from `EvaluationLog` so forge tests can probe every boundary directly and so the rule reads
///      exactly like `marl_detector/outcome.py` (returns use Solidity's int division, truncating toward zero).
library OutcomeLib {
    enum Outcome {
        NONE,
        MANIPULATION,
        DISCOVERY
    }

    int256 internal constant BP = 10_000;
    /// @dev Abnormal peak return threshold, 10 %.
    int256 internal constant THETA_BP = 1_000;
    /// @dev The end return keeps at most half of the peak for a reversal.
    int256 internal constant RHO_BP = 5_000;

    int256 internal constant SCORE_TP = 10;
    int256 internal constant SCORE_TN = 1;
    int256 internal constant SCORE_FN = -5;
    int256 internal constant SCORE_FP_NONE = -5;
    int256 internal constant SCORE_FP_DISCOVERY = -15;

    /// @notice Label a window from its base price and its four sub-window TWAPs.
    /// @return outcome NONE / MANIPULATION / DISCOVERY
    /// @return rPeakBp `(peak - base) * 1e4 / base`
    /// @return rEndBp `(m3 - base) * 1e4 / base`
    function classify(uint256 base, uint256[4] memory m)
        internal
        pure
        returns (Outcome outcome, int256 rPeakBp, int256 rEndBp)
    {
        uint256 peak = m[0];
        for (uint256 k = 1; k < 4; ++k) {
            if (m[k] > peak) peak = m[k];
        }
        // casting is safe because prices are WAD spot prices far below 2**255 (reserves * 1e18 fits uint256)
        // forge-lint: disable-next-line(unsafe-typecast)
        int256 b = int256(base);
        // casting is safe because peak is a TWAP of such prices
        // forge-lint: disable-next-line(unsafe-typecast)
        rPeakBp = ((int256(peak) - b) * BP) / b;
        rEndBp = ((int256(m[3]) - b) * BP) / b;
        if (rPeakBp < THETA_BP) outcome = Outcome.NONE;
        else if (rEndBp * BP <= RHO_BP * rPeakBp) outcome = Outcome.MANIPULATION;
        else outcome = Outcome.DISCOVERY;
    }

    /// @notice Score of a binary prediction (1 = manipulation) against the realised outcome.
    function score(uint8 predicted, Outcome outcome) internal pure returns (int256) {
        bool manipulated = outcome == Outcome.MANIPULATION;
        if (predicted == 1) {
            if (manipulated) return SCORE_TP;
            return outcome == Outcome.DISCOVERY ? SCORE_FP_DISCOVERY : SCORE_FP_NONE;
        }
        return manipulated ? SCORE_FN : SCORE_TN;
    }
}
