// The Hide-and-Shill outcome rule for the explorer's "verify": a page (or node, for its test) re-derives a window's
// outcome and its entries' scores from logged inputs alone. Kept in its own file so tests/explorer/test_outcome_js.py
// can run it under node against marl_detector/outcome.py, the rule's Python reference.
"use strict";
// The rule as OutcomeLib.classify / OutcomeLib.score and marl_detector/outcome.py (BigInt: Solidity's
// integer division, truncating toward zero) -----------------------------------------------------------------------
const THETA_BP = 1000n, RHO_BP = 5000n, BP = 10000n;
function classify(base, m) {
  const peak = m.reduce((a, b) => (b > a ? b : a));
  const rPeak = ((peak - base) * BP) / base, rEnd = ((m[3] - base) * BP) / base;
  const outcome = rPeak < THETA_BP ? "none" : (rEnd * BP <= RHO_BP * rPeak ? "manipulation" : "discovery");
  return {outcome, rPeak, rEnd};
}
function scoreOf(predicted, outcome) {
  if (predicted === 1) return outcome === "manipulation" ? 10 : (outcome === "discovery" ? -15 : -5);
  return outcome === "manipulation" ? -5 : 1;
}
// Re-derive a window's outcome and each entry's score from the logs the page was given: WindowOpened (base),
// the five Checkpointed cumulatives (sub-window TWAPs m_k = (cum[k+1] - cum[k]) / (H/4)) and each Revealed label.
function verifyWindow(w) {
  const cums = w.checkpoints.map((c) => BigInt(c.cumulative));
  if (cums.length < 5) return {outcome: null, why: `${cums.length} of 5 boundary checkpoints logged: the window expires`, entries: []};
  const quarter = BigInt(w.horizon / 4), base = BigInt(w.base);
  const m = [0, 1, 2, 3].map((k) => (cums[k + 1] - cums[k]) / quarter);
  const c = classify(base, m);
  const entries = w.entries.map((e) => {
    if (w.settled && w.settled.tainted) return {id: e.id, score: 0, status: "tainted"};
    if (e.label === null || e.label === undefined) return {id: e.id, score: -15, status: "expired"};
    return {id: e.id, score: scoreOf(e.label, c.outcome), status: "resolved"};
  });
  return {outcome: c.outcome, rPeak: c.rPeak, rEnd: c.rEnd, m, entries};
}

if (typeof module !== "undefined") module.exports = {classify, scoreOf, verifyWindow};
