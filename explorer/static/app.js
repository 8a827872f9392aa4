// The explorer page: every view is read from the JSON endpoints; an SSE notice only says when to read again.
"use strict";
const $ = (id) => document.getElementById(id);
let selected = null;          // the task number shown in detail (null: the newest)
let refreshing = false, again = false;

function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
}
function short(address) { return address ? esc(address.slice(0, 8) + "…" + address.slice(-4)) : "-"; }
function addr(address, names) {
  const name = names && names[String(address).toLowerCase()];
  return `<span class="mono" title="${esc(address)}">${name ? esc(name) + " " : ""}${short(address)}</span>`;
}
// Every item links to the transaction that put it on chain: #tx/HASH shows its events and `cast receipt`.
function txlink(ref) { return ref && ref.tx ? `<a class="tx mono" href="#tx/${esc(ref.tx)}" title="${esc(ref.tx)} (block ${ref.block})">${esc(ref.tx.slice(0, 10))}…</a>` : ""; }
function num(x, digits = 3) { return Number(x).toFixed(digits); }
function cast(cmd) { return cmd ? `<code class="cast">$ ${esc(cmd)}</code>` : ""; }
function table(headers, rows) {
  return `<table><tr>${headers.map((h) => `<th>${esc(h)}</th>`).join("")}</tr>${rows.join("")}</table>`;
}

// -- plots: inline SVG, no library -------------------------------------------------------------------------------
// plot({series: [{points: [[x, y]…], color, label, step}], bands: [{x0, x1, color, label}], hlines: [{y, color, label}],
//       segments: [{x0, x1, y, color}], xlabel, ylabel, id}) — linear axes fitted to everything drawn.
function plot(spec) {
  const W = spec.width || 520, H = spec.height || 170, L = 58, R = 10, T = 14, B = 26;
  const xs = [], ys = [];
  for (const s of spec.series) for (const [x, y] of s.points) { xs.push(x); ys.push(y); }
  for (const b of spec.bands || []) xs.push(b.x0, b.x1);
  for (const h of spec.hlines || []) ys.push(h.y);
  for (const g of spec.segments || []) { xs.push(g.x0, g.x1); ys.push(g.y); }
  if (xs.length && spec.extendTo !== undefined) xs.push(spec.extendTo);
  if (!xs.length) return `<div class="note">nothing to plot yet</div>`;
  let [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  if (x1 === x0) { x0 -= 1; x1 += 1; }
  if (y1 === y0) { const d = Math.abs(y0) * 0.05 || 1; y0 -= d; y1 += d; }
  const pad = (y1 - y0) * 0.08; y0 -= pad; y1 += pad;
  const X = (x) => L + (x - x0) / (x1 - x0) * (W - L - R), Y = (y) => T + (y1 - y) / (y1 - y0) * (H - T - B);
  const fmt = (v) => Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-2 && v !== 0) ? v.toExponential(2) : String(+v.toFixed(3));
  const out = [`<svg class="plot" ${spec.id ? `id="${esc(spec.id)}"` : ""} width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">`];
  for (const b of spec.bands || []) {
    out.push(`<rect class="band" x="${X(b.x0)}" y="${T}" width="${Math.max(1, X(b.x1) - X(b.x0))}" height="${H - T - B}" fill="${b.color}" opacity="0.25"><title>${esc(b.label || "")}</title></rect>`);
    if (b.label) out.push(`<text x="${X(b.x0) + 2}" y="${T + 10}">${esc(b.label)}</text>`);
  }
  out.push(`<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="#999"/><line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="#999"/>`);
  for (const v of [y0 + pad, (y0 + y1) / 2, y1 - pad]) out.push(`<text x="2" y="${Y(v) + 3}">${esc(fmt(v))}</text>`);
  out.push(`<text x="${L}" y="${H - 8}">${esc(fmt(x0))}</text><text x="${W - R - 60}" y="${H - 8}">${esc(fmt(x1))}</text>`);
  if (spec.xlabel) out.push(`<text x="${(W - 60) / 2}" y="${H - 8}">${esc(spec.xlabel)}</text>`);
  if (spec.ylabel) out.push(`<text x="${L + 4}" y="${T - 3}">${esc(spec.ylabel)}</text>`);
  for (const h of spec.hlines || []) {
    out.push(`<line class="hline" x1="${L}" y1="${Y(h.y)}" x2="${W - R}" y2="${Y(h.y)}" stroke="${h.color}" stroke-dasharray="4 3"/>`);
    if (h.label) out.push(`<text x="${W - R - 90}" y="${Y(h.y) - 2}">${esc(h.label)}</text>`);
  }
  for (const g of spec.segments || []) out.push(`<line class="segment" x1="${X(g.x0)}" y1="${Y(g.y)}" x2="${X(g.x1)}" y2="${Y(g.y)}" stroke="${g.color}" stroke-width="3"/>`);
  let legend = L + 6;
  for (const s of spec.series) {
    const pts = [];
    s.points.forEach(([x, y], i) => {
      if (s.step && i > 0) pts.push(`${X(x)},${Y(s.points[i - 1][1])}`);
      pts.push(`${X(x)},${Y(y)}`);
    });
    if (s.step && s.points.length && spec.extendTo !== undefined) pts.push(`${X(spec.extendTo)},${Y(s.points[s.points.length - 1][1])}`);
    out.push(`<polyline class="series" fill="none" stroke="${s.color}" stroke-width="1.6" points="${pts.join(" ")}"/>`);
    for (const [x, y] of s.points) out.push(`<circle cx="${X(x)}" cy="${Y(y)}" r="2" fill="${s.color}"/>`);
    if (s.label) { out.push(`<text x="${legend}" y="${T + 22}" style="fill:${s.color}">${esc(s.label)}</text>`); legend += 8 * s.label.length + 12; }
  }
  out.push("</svg>");
  return out.join("");
}

// A task's timeline: one row per kind of event, one dot per event at its block, so the commit and reveal phases
// read at a glance against the bids, assignments and deliveries that came before them.
function timeline(t) {
  const steps = t.chains.flatMap((c) => c.steps);
  const v = t.vote;
  const rows = [
    ["posted", [t.posted, ...t.chains.map((c) => c.posted)]],
    ["bids", steps.flatMap((s) => s.bids)],
    ["assigned", steps.flatMap((s) => [...s.executors, ...s.timed_out])],
    ["results", steps.flatMap((s) => s.results)],
    ["commits", v.commits],
    ["reveals", v.reveals],
    ["final", [v.finalized, t.settled_at, t.cancelled_at]],
  ].map(([label, refs]) => [label, refs.filter((r) => r && r.block !== undefined).map((r) => r.block)]);
  const blocks = rows.flatMap(([, b]) => b);
  if (!blocks.length) return "";
  const W = 640, L = 70, R = 12, rowH = 16, H = rows.length * rowH + 24;
  let [b0, b1] = [Math.min(...blocks), Math.max(...blocks)];
  if (b0 === b1) { b0 -= 1; b1 += 1; }
  const X = (b) => L + (b - b0) / (b1 - b0) * (W - L - R);
  const out = [`<svg class="plot" id="timeline" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">`];
  rows.forEach(([label, bs], i) => {
    const y = 12 + i * rowH;
    out.push(`<text x="4" y="${y + 4}">${esc(label)} (${bs.length})</text><line x1="${L}" y1="${y}" x2="${W - R}" y2="${y}" stroke="#eee"/>`);
    for (const b of bs) out.push(`<circle class="tl-${esc(label)}" cx="${X(b)}" cy="${y}" r="3" fill="${label === "commits" ? "#a05a00" : label === "reveals" ? "#0a7d24" : "#1a4fb0"}"><title>${esc(label)} at block ${b}</title></circle>`);
  });
  out.push(`<text x="${L}" y="${H - 4}">block ${b0}</text><text x="${W - R - 70}" y="${H - 4}">block ${b1}</text></svg>`);
  return out.join("");
}

// A chain as a graph: per step a column step → beacon → bids (with their on-chain scores) → executors → result,
// and an arrow from each step to the next; a delivered executor is green, a timed-out one red.
function chainGraph(c) {
  const colW = 190, boxH = 34, gap = 14, rows = 4, W = c.steps.length * colW + 10, H = rows * (boxH + gap) + 6;
  const out = [`<svg class="plot graph" id="graph-${c.chain}" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">`,
    `<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#789"/></marker></defs>`];
  const box = (x, y, lines, colour, cls) => {
    out.push(`<rect class="${cls}" x="${x}" y="${y}" width="${colW - 30}" height="${boxH}" rx="4" fill="#fff" stroke="${colour}"/>`);
    lines.forEach((l, i) => out.push(`<text x="${x + 5}" y="${y + 13 + i * 12}">${esc(String(l).slice(0, 30))}</text>`));
  };
  const arrow = (x1, y1, x2, y2) => out.push(`<line x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}" stroke="#789" marker-end="url(#arrow)"/>`);
  c.steps.forEach((st, i) => {
    const x = 5 + i * colW, y = (r) => 3 + r * (boxH + gap), mid = x + (colW - 30) / 2;
    const top = st.bids.slice(0, 2).map((b) => `${names[String(b.agent).toLowerCase()] || short(b.agent)} ${num(b.score, 3)}`);
    const done = st.executors.filter((e) => e.delivered).length;
    const last = st.results[st.results.length - 1];
    box(x, y(0), [`step ${st.step}${st.final ? " (final)" : ""}`, `beacon ${st.beacon}: ${st.status}`], "#1a4fb0", "g-step");
    box(x, y(1), [`${st.bids.length} bid(s)`, top.join(", ")], "#789", "g-bids");
    box(x, y(2), [`${st.executors.length} executor(s), ${done} delivered`,
      st.executors.map((e) => (names[String(e.agent).toLowerCase()] || short(e.agent)) + (e.delivered ? " ✓" : "")).join(", ") +
      (st.timed_out.length ? `, ${st.timed_out.length} timed out` : "")],
      st.timed_out.length ? "#b00020" : (done ? "#0a7d24" : "#789"), "g-exec");
    box(x, y(3), st.final ? ["final: the answer is", "committed in the vote"] : [`${st.results.length} result(s)`, last ? last.result : "-"],
      st.results.length || st.final ? "#0a7d24" : "#789", "g-result");
    for (let r = 0; r < 3; r++) arrow(mid, y(r) + boxH, mid, y(r + 1) - 1);
    if (i + 1 < c.steps.length) arrow(x + colW - 30, y(0) + boxH / 2, x + colW - 1, y(0) + boxH / 2);
  });
  out.push("</svg>");
  return out.join("");
}

// The outcome rule (classify, scoreOf, verifyWindow) is in outcome.js, loaded before this file.

async function getJSON(url) {
  const response = await fetch(url);
  const body = await response.json().catch(() => ({error: `HTTP ${response.status}`}));
  if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
  return body;
}

function setConnection(status) {
  const conn = $("conn");
  conn.textContent = status.connected ? "live" : "disconnected" + (status.error ? ` (${status.error}); retrying` : "");
  conn.className = status.connected ? "live" : "disconnected";
}

let names = {};
function renderAgents(agents) {
  names = Object.fromEntries(agents.map((a) => [a.address.toLowerCase(), a.name]));
  if (!agents.length) { $("agents").textContent = "no agent yet"; return; }
  $("agents").innerHTML = table(["name", "address", "tags", "stake (ETH)", "reputation", "available", "capacity (free)", "beacons won", "cast"],
    agents.map((a) => `<tr class="clickable" data-agent="${esc(a.address)}" id="agent-${esc(a.address.toLowerCase())}"><td>${esc(a.name)}${a.active ? "" : " (left)"}</td><td class="mono">${esc(a.address)}</td>
      <td>${esc(a.tags.join(", "))}</td><td>${num(a.stake_eth, 4)}</td><td>${num(a.reputation_value)}</td>
      <td>${a.available ? "yes" : "no"}</td><td>${a.capacity} (${a.free_capacity})</td><td>${a.beacons_won.length}</td><td>${cast(a.cast)}</td></tr>`));
  for (const row of $("agents").querySelectorAll("tr.clickable")) row.onclick = () => { location.hash = `#agent/${row.dataset.agent}`; };
}

// The agent detail panel (#agent/ADDR): evidence record, beacons won (each linked to its task), reputation and
// stake over time from its ledger events, and its detector record where it has one.
let shownAgent = null, headBlock = undefined;
async function renderAgentPanel() {
  const box = $("agent-panel");
  if (!shownAgent) { box.hidden = true; return; }
  box.hidden = false;
  let a;
  try { a = await getJSON(`/api/agent/${encodeURIComponent(shownAgent)}`); }
  catch (err) { box.innerHTML = `<div class="error">${esc(err.message)}</div>`; return; }
  const evidence = Object.entries(a.evidence);
  const h = a.history;
  box.innerHTML = `<div id="agent-detail"><b>agent ${esc(a.name)}</b> <span class="mono">${esc(a.address)}</span> — ${esc(a.model_id)}, tags ${esc(a.tags.join(", "))}
    <div>${esc(a.capability)}</div><div>registered in ${txlink(a.registered)}</div>${cast(a.cast)}
    <h3>evidence record</h3>${evidence.length ? table(["kind", "successes", "failures"], evidence.map(([k, v]) =>
      `<tr class="evidence"><td class="mono">${esc(k)}</td><td>${v.successes}</td><td>${v.failures}</td></tr>`)) : "<div>no evidence recorded</div>"}
    <h3>beacons won (${a.won.length})</h3><div id="agent-won">${a.won.map((w) => `<a href="#task/${w.task}">beacon ${w.beacon} (task ${w.task}, chain ${w.chain}, step ${w.step})</a>`).join(", ") || "none"}</div>
    <h3>reputation and stake over time (block)</h3>
    ${plot({id: "reputation-plot", xlabel: "block", ylabel: "reputation", extendTo: headBlock,
            series: [{label: "reputation", color: "#1a4fb0", step: true, points: h.map((x) => [x.block, x.reputation / 1e18])}]})}
    ${plot({id: "stake-plot", xlabel: "block", ylabel: "stake (ETH)", height: 130, extendTo: headBlock,
            series: [{label: "stake", color: "#a05a00", step: true, points: h.map((x) => [x.block, x.stake / 1e18])}]})}
    ${a.detector ? `<h3>as a detector: total score ${a.detector.total_score}</h3>` : ""}</div>`;
}

function renderTasks(tasks) {
  if (!tasks.length) { $("tasks").textContent = "no task yet"; return; }
  const shown = selected ?? tasks[0].task;
  $("tasks").innerHTML = table(["task", "requester", "chains", "bids", "status", "answer"],
    tasks.map((t) => `<tr class="clickable${t.task === shown ? " selected" : ""}" data-task="${t.task}" id="task-row-${t.task}">
      <td>${t.task}</td><td>${addr(t.requester, names)}</td><td>${t.chains}</td><td>${t.bids}</td><td>${esc(t.status)}</td>
      <td>${esc(t.winning_answer)}</td></tr>`));
  for (const row of $("tasks").querySelectorAll("tr.clickable")) {
    row.onclick = () => { location.hash = `#task/${row.dataset.task}`; };
  }
}

function renderTask(t) {
  const parts = [`<div id="task-${t.task}"><b>task ${t.task}</b> <span class="mono">${esc(t.task_id)}</span> by ${addr(t.requester, names)}:
    <b>${esc(t.status)}</b>, ${t.executors_per_step} executor(s) per step, ${t.reward_per_executor_wei} wei per delivery${cast(t.cast)}`];
  const g = t.gas;
  parts.push(`<div id="gas"><b>gas spent</b>: <span id="gas-total">${g.total}</span> in ${g.transactions} transaction(s)
    (${num(g.fee_wei / 1e18, 6)} ETH); the requester's share <span id="gas-requester">${g.requester.gas}</span> in ${g.requester.transactions}
    ${table(["party", "gas", "transactions"], g.parties.map((p) => `<tr class="gas-party"><td>${addr(p.address, names)}</td><td>${p.gas}</td><td>${p.transactions}</td></tr>`))}
    ${cast(g.cast)}</div>`);
  parts.push(`<h3>timeline (blocks)</h3>${timeline(t)}`);
  for (const c of t.chains) {
    parts.push(`<div class="chain"><h3>chain ${c.chain} (id ${c.chain_id}) — weight ${num(c.weight)}</h3>${chainGraph(c)}${cast(c.cast)}`);
    for (const s of c.steps) {
      parts.push(`<div class="step"><b>step ${s.step}${s.final ? " (final)" : ""}</b> beacon ${s.beacon}: ${esc(s.status)}${cast(s.cast.beacon)}`);
      parts.push(s.bids.length ? table(["bidder", "score (on chain)", "newcomer", "tx"], s.bids.map((b) =>
        `<tr class="bid"><td>${addr(b.agent, names)}</td><td>${num(b.score, 9)}</td><td>${b.newcomer ? "yes" : ""}</td><td>${txlink(b)}</td></tr>`)) : "<div>no bid yet</div>");
      parts.push(cast(s.cast.bids));
      if (s.executors.length || s.timed_out.length) {
        parts.push(table(["executor", "score", "delivered", "tx"], [...s.executors.map((x) =>
          `<tr class="executor"><td>${addr(x.agent, names)}</td><td>${num(x.score, 9)}</td><td>${x.delivered ? "yes" : "not yet"}</td><td>${txlink(x)}</td></tr>`),
          ...s.timed_out.map((x) => `<tr><td>${addr(x.agent, names)}</td><td>${num(x.score, 9)}</td><td class="error">timed out</td><td>${txlink(x.timed_out)}</td></tr>`)]));
        parts.push(cast(s.cast.executors));
      }
      if (s.results.length) {
        parts.push(table(["result by", "result", "tx"], s.results.map((r) => `<tr><td>${addr(r.agent, names)}</td><td class="mono">${esc(r.result)}</td><td>${txlink(r)}</td></tr>`)));
        parts.push(cast(s.cast.results));
      }
      parts.push("</div>");
    }
    parts.push("</div>");
  }
  const v = t.vote;
  parts.push(`<div class="chain" id="vote"><h3>vote: ${esc(v.phase)}, ${v.commits.length} commit(s), ${v.reveals.length} reveal(s)</h3>${cast(v.cast.vote)}${cast(v.cast.voters)}`);
  if (v.commits.length) {
    parts.push(table(["committed by", "beacon", "commitment", "tx"], v.commits.map((x) =>
      `<tr class="commit"><td>${addr(x.voter, names)}</td><td>${x.beacon}</td><td class="mono">${esc(x.commitment.slice(0, 18))}…</td><td>${txlink(x)}</td></tr>`)));
    parts.push(cast(v.cast.commits));
  }
  if (v.reveals.length) {
    parts.push(table(["revealed by", "beacon", "answer", "weight", "tx"], v.reveals.map((x) =>
      `<tr class="reveal"><td>${addr(x.voter, names)}</td><td>${x.beacon}</td><td>${x.answer ? esc(x.answer) : "<i>abstained</i>"}</td><td>${num(x.weight, 9)}</td><td>${txlink(x)}</td></tr>`)));
    parts.push(cast(v.cast.reveals));
    parts.push(`<h3>weights per answer</h3>` + table(["answer", "weight", "share", "voters"], v.answers.map((a) =>
      `<tr class="answer"><td>${esc(a.answer)}</td><td>${num(a.weight, 9)}</td><td>${num(100 * a.weight_wad / Math.max(1, v.answers.reduce((x, b) => x + b.weight_wad, 0)), 1)} %</td>
      <td>${a.voters.map((w) => addr(w, names)).join(", ")}</td></tr>`)));
  }
  if (v.winning_answer) {
    parts.push(`<div id="winner" class="winner">${v.phase === "finalized" ? "winner" : "leading"}: ${esc(v.winning_answer)} with weight
      ${num(v.winning_weight_value)} of ${num(v.total_weight_value)} — ${v.winners.map((w) => addr(w, names)).join(", ")} ${txlink(v.finalized)}</div>`);
  }
  parts.push("</div></div>");
  $("task").innerHTML = parts.join("");
}

function renderEvaluations(entries, windows) {
  $("evaluations-box").hidden = entries === null;
  if (entries === null) return;
  const byId = Object.fromEntries((windows || []).map((w) => [w.window, w]));
  $("evaluations").innerHTML = entries.length ? table(["id", "window", "detector", "committed (block)", "t0", "status", "label", "confidence", "outcome", "score", "", "cast"],
    entries.map((e) => `<tr class="entry"><td>${e.id}</td><td><a href="#window/${e.window}">${e.window}</a></td><td>${addr(e.detector, names)}</td>
      <td>${e.committed ? e.committed.block : "-"} ${txlink(e.committed)}</td><td>${byId[e.window] ? byId[e.window].t0 : "-"}</td><td>${esc(e.status)}</td>
      <td>${e.label ?? "-"}</td><td>${e.confidence_bp ?? "-"}</td><td>${esc(e.outcome ?? "-")}</td><td>${e.score ?? "-"}</td>
      <td><button class="verify" data-window="${e.window}">verify</button></td><td>${cast(e.cast)}</td></tr>`)) : "no entry yet";
  for (const b of $("evaluations").querySelectorAll("button.verify")) b.onclick = () => { location.hash = `#window/${b.dataset.window}`; };
}

function renderDetectors(detectors) {
  if (detectors === null) return;
  $("detectors").innerHTML = detectors.length ? table(["detector", "TP", "FP", "TN", "FN", "expired", "voided", "tainted", "score", "running score", "cast"],
    detectors.map((d) => `<tr class="detector"><td>${addr(d.detector, names)}</td><td>${d.true_positives}</td><td>${d.false_positives}</td>
      <td>${d.true_negatives}</td><td>${d.false_negatives}</td><td>${d.expired}</td><td>${d.voided}</td><td>${d.tainted}</td><td>${d.total_score}</td>
      <td>${plot({width: 260, height: 90, series: [{color: "#0a7d24", points: d.curve.map((c, i) => [i + 1, c.total])}]})}</td><td>${cast(d.cast)}</td></tr>`))
    : "no entry resolved yet";
}

// The window panel (#window/ID, the "verify" button): the pool's price with the prediction window and its
// outcome, and the outcome and every score re-derived here from the logged inputs next to the recorded ones.
let shownWindow = null;
async function renderWindowPanel() {
  const box = $("window-panel");
  if (shownWindow === null) { box.hidden = true; return; }
  box.hidden = false;
  let w;
  try { w = await getJSON(`/api/window/${encodeURIComponent(shownWindow)}`); }
  catch (err) { box.innerHTML = `<div class="error">${esc(err.message)}</div>`; return; }
  const v = verifyWindow(w);
  const recorded = w.settled ? w.settled.outcome : null;
  const same = (a, b) => a === b ? `<span class="ok">= recorded</span>` : `<span class="error">differs from recorded</span>`;
  const q = w.horizon / 4;
  // x: seconds from t0 (chain time), so the window is [0, H] and the base window [baseStart - t0, 0]
  const segments = v.m ? v.m.map((m, k) => ({x0: k * q, x1: (k + 1) * q, y: Number(m) / 1e18, color: "#7a3db8"})) : [];
  const prices = w.prices.map((p) => [p.t - w.t0, p.price]);
  if (prices.length && prices[0][0] < w.base_start - w.t0) prices[0] = [w.base_start - w.t0, prices[0][1]];
  const colour = {manipulation: "#d33", discovery: "#2a8", none: "#888"}[recorded] || "#888";
  box.innerHTML = `<div id="window-detail"><b>window ${w.window}</b> on pool <span class="mono">${esc(w.pool)}</span>, opened by ${addr(w.opener, names)}:
    t0 ${w.t0}, horizon ${w.horizon} s, base price ${num(w.base_value, 6)}${cast(w.cast.window)}
    ${plot({id: "price-plot", width: 640, height: 200, xlabel: "seconds from t0", ylabel: "spot price (quote per token); purple: sub-window TWAPs", extendTo: w.horizon + q,
            bands: [{x0: w.base_start - w.t0, x1: 0, color: "#bbb", label: "base"}, {x0: 0, x1: w.horizon, color: colour, label: `window: ${recorded ?? "open"}`}],
            hlines: [{y: w.base_value, color: "#555", label: "base"}, {y: w.base_value * 1.1, color: "#d33", label: "base + 10 %"}],
            segments, series: [{label: "spot price (Sync logs)", color: "#1a4fb0", step: true, points: prices}]})}
    ${cast(w.cast.prices)}
    <h3>verify: re-derived in this page from the logs</h3>
    <div id="verify-result">${v.outcome === null ? esc(v.why) : `outcome <b id="verify-outcome">${esc(v.outcome)}</b> ${recorded ? same(v.outcome, recorded) : "(not settled yet)"};
      peak return ${v.rPeak} bp, end return ${v.rEnd} bp${w.settled ? ` (recorded ${w.settled.r_peak_bp} bp, ${w.settled.r_end_bp} bp)` : ""};
      sub-window TWAPs ${v.m.map((m) => num(Number(m) / 1e18, 6)).join(", ")}`}</div>
    ${table(["entry", "detector", "committed at block", "commit time", "before t0", "label", "status (recorded)", "score (recorded)", "score (re-derived)", ""],
      w.entries.map((e) => { const r = v.entries.find((x) => x.id === e.id);
        return `<tr class="verified"><td>${e.id}</td><td>${addr(e.detector, names)}</td><td>${e.committed.block} ${txlink(e.committed)}</td>
        <td>${e.committed_time ?? "-"} (t0 ${e.committed_time !== null ? e.committed_time - w.t0 : "?"} s)</td><td class="commit-before">${e.before_t0 ? "yes" : '<span class="error">no</span>'}</td><td>${e.label ?? "-"}</td>
        <td>${esc(e.status)}</td><td>${e.score ?? "-"}</td><td>${r ? r.score : "-"}</td><td>${r && e.score !== null ? same(r.score, e.score) : ""}</td></tr>`; }))}
    <div class="note">inputs: WindowOpened (base), Checkpointed k = 0…4 (cumulative prices at t0 + k·H/4), Revealed (label); rule: OutcomeLib
    (θ = 10 %, ρ = 50 %). A voided entry (its detector traded the pool) is not re-derived here: that needs the pool's lastSwapAt.</div>
    ${cast(w.cast.checkpoints)}</div>`;
}

function renderPolicies(policies) {
  $("policies-box").hidden = policies === null;
  if (policies === null) return;
  const served = (p) => p.served_by.length
    ? p.served_by.map((s) => `<div class="sampler">${addr(s.sampler, names)} ${txlink(s.since)}</div>`).join("")
    : '<span class="note">none announced</span>';
  $("policies").innerHTML = (policies.length ? table(["version", "sha256", "uri", "publisher", "revoked", "served by", "cast"],
    policies.map((p) => `<tr class="policy"><td>${p.version}</td><td class="mono">${esc(p.sha256.slice(0, 18))}…</td><td>${esc(p.uri)}</td>
      <td>${addr(p.publisher, names)} ${txlink(p.published)}</td><td>${p.revoked ? "yes: " + esc(p.reason) + " " + txlink(p.revoked_at) : ""}</td>
      <td class="served-by">${served(p)}</td><td>${cast(p.cast)}${cast(p.cast_served)}</td></tr>`)) : "no version yet") +
    `<div class="note" id="served-by-note">served by: the samplers whose last PolicyServed announcement names the version (a sampler announces
    after it downloaded, verified and loaded it, and announces version 0 when it stops or the version it holds is revoked).
    An announcement is the sampler's own word, signed by its account — observability, not proof of what it runs.</div>`;
}

async function refresh() {
  if (refreshing) { again = true; return; }
  refreshing = true;
  try {
    const state = await getJSON("/api/state");
    setConnection(state.status);
    $("meta").textContent = `chain ${state.network.chain_id} at ${state.network.rpc_url} — block ${state.status.checkpoint_block ?? "-"}, ` +
      `${state.status.events} event(s), ${state.agents.length} agent(s), ${state.tasks.length} task(s)`;
    headBlock = state.status.checkpoint_block ?? state.head_block;
    renderAgents(state.agents);
    renderTasks(state.tasks);
    renderEvaluations(state.evaluations, state.windows);
    renderDetectors(state.detectors);
    renderPolicies(state.policies);
    await Promise.all([renderAgentPanel(), renderWindowPanel()]);
    const shown = selected ?? (state.tasks[0] && state.tasks[0].task);
    if (shown !== undefined && shown !== null) {
      try { renderTask(await getJSON(`/api/task/${shown}`)); }
      catch (err) { $("task").innerHTML = `<div class="error">${esc(err.message)}</div>`; }
    } else {
      $("task").textContent = "select a task";
    }
  } catch (err) {
    setConnection({connected: false, error: err.message});
  } finally {
    refreshing = false;
    if (again) { again = false; setTimeout(refresh, 150); }
  }
}

$("search").onsubmit = (event) => { event.preventDefault(); search($("q").value.trim()); };

async function search(q) {
  const box = $("search-result");
  try {
    const found = await getJSON(`/api/search?q=${encodeURIComponent(q)}`);
    if (found.kind === "task") { box.innerHTML = `<a href="#task/${found.task.task}">task ${found.task.task}</a> (below)`; location.hash = `#task/${found.task.task}`; return; }
    if (found.kind === "beacon") { box.innerHTML = `beacon ${found.beacon}: <a href="#task/${found.task}">task ${found.task}</a>, chain ${found.chain}, step ${found.step} (below)`; location.hash = `#task/${found.task}`; return; }
    if (found.kind === "agent") { const a = found.agent; box.innerHTML = `<a href="#agent/${esc(a.address)}">agent <b>${esc(a.name)}</b></a> ${esc(a.address)}: stake ${num(a.stake_eth, 4)} ETH, reputation ${num(a.reputation_value)}, beacons won ${esc(a.beacons_won.join(", ") || "none")}${cast(a.cast)}`; location.hash = `#agent/${a.address}`; return; }
    if (found.kind === "agents") { box.innerHTML = found.agents.map((a) => `<a href="#agent/${esc(a.address)}">agent <b>${esc(a.name)}</b></a> ${esc(a.address)}${cast(a.cast)}`).join(""); return; }
    if (found.kind === "transaction") { box.innerHTML = `<span id="tx-found">transaction ${esc(found.tx)}: ` + found.events.map((e) => `${esc(e.contract)}.${esc(e.event)}`).join(", ") + `</span>` + cast(found.cast); return; }
    if (found.kind === "requester") { box.innerHTML = `requester ${esc(found.address)}: tasks ${found.tasks.map((t) => `<a href="#task/${t.task}">${t.task}</a>`).join(", ")}`; return; }
    if (found.kind === "contract") { box.innerHTML = `contract ${esc(found.contract.name)} (${esc(found.contract.role)}) at ${esc(found.contract.address)}`; return; }
    box.textContent = JSON.stringify(found);
  } catch (err) {
    box.innerHTML = `<span class="error">${esc(err.message)}</span>`;
  }
}

function connect() {
  const source = new EventSource("/api/events");
  source.addEventListener("status", (e) => { setConnection(JSON.parse(e.data)); refresh(); });
  source.addEventListener("change", () => refresh());
  source.onerror = () => setConnection({connected: false, error: "explorer server unreachable"});  // EventSource reconnects by itself
}
// Deep links: #task/ID (number or 0x id), #agent/ADDR, #window/ID open that item; a search result or a click
// sets the hash, so the back button and a shared link work the same way.
function route() {
  const [kind, id] = decodeURIComponent(location.hash.slice(1)).split("/");
  if (kind === "task" && id) {
    selected = /^0x/i.test(id) ? null : Number(id);
    if (selected === null) getJSON(`/api/task/${encodeURIComponent(id)}`).then((t) => { selected = t.task; refresh(); })
      .catch((err) => { $("task").innerHTML = `<div class="error">${esc(err.message)}</div>`; });
    const target = $("task"); if (target.scrollIntoView) target.scrollIntoView();
  }
  if (kind === "agent" && id) shownAgent = id;
  if (kind === "window" && id) shownWindow = id;
  if (kind === "tx" && id) { $("q").value = id; search(id); const box = $("search-result"); if (box.scrollIntoView) box.scrollIntoView(); }
  refresh().then(() => {
    const panel = kind === "agent" ? $("agent-panel") : (kind === "window" ? $("window-panel") : null);
    if (panel && panel.scrollIntoView) panel.scrollIntoView();
  });
}
window.addEventListener("hashchange", route);
connect();
route();
