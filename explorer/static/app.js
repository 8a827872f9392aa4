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
function num(x, digits = 3) { return Number(x).toFixed(digits); }
function cast(cmd) { return cmd ? `<code class="cast">$ ${esc(cmd)}</code>` : ""; }
function table(headers, rows) {
  return `<table><tr>${headers.map((h) => `<th>${esc(h)}</th>`).join("")}</tr>${rows.join("")}</table>`;
}

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
    agents.map((a) => `<tr id="agent-${esc(a.address.toLowerCase())}"><td>${esc(a.name)}${a.active ? "" : " (left)"}</td><td class="mono">${esc(a.address)}</td>
      <td>${esc(a.tags.join(", "))}</td><td>${num(a.stake_eth, 4)}</td><td>${num(a.reputation_value)}</td>
      <td>${a.available ? "yes" : "no"}</td><td>${a.capacity} (${a.free_capacity})</td><td>${a.beacons_won.length}</td><td>${cast(a.cast)}</td></tr>`));
}

function renderTasks(tasks) {
  if (!tasks.length) { $("tasks").textContent = "no task yet"; return; }
  const shown = selected ?? tasks[0].task;
  $("tasks").innerHTML = table(["task", "requester", "chains", "bids", "status", "answer"],
    tasks.map((t) => `<tr class="clickable${t.task === shown ? " selected" : ""}" data-task="${t.task}" id="task-row-${t.task}">
      <td>${t.task}</td><td>${addr(t.requester, names)}</td><td>${t.chains}</td><td>${t.bids}</td><td>${esc(t.status)}</td>
      <td>${esc(t.winning_answer)}</td></tr>`));
  for (const row of $("tasks").querySelectorAll("tr.clickable")) {
    row.onclick = () => { selected = Number(row.dataset.task); refresh(); };
  }
}

function renderTask(t) {
  const parts = [`<div id="task-${t.task}"><b>task ${t.task}</b> <span class="mono">${esc(t.task_id)}</span> by ${addr(t.requester, names)}:
    <b>${esc(t.status)}</b>, ${t.executors_per_step} executor(s) per step, ${t.reward_per_executor_wei} wei per delivery${cast(t.cast)}`];
  for (const c of t.chains) {
    parts.push(`<div class="chain"><h3>chain ${c.chain} (id ${c.chain_id}) — weight ${num(c.weight)}</h3>${cast(c.cast)}`);
    for (const s of c.steps) {
      parts.push(`<div class="step"><b>step ${s.step}${s.final ? " (final)" : ""}</b> beacon ${s.beacon}: ${esc(s.status)}${cast(s.cast.beacon)}`);
      parts.push(s.bids.length ? table(["bidder", "score (on chain)", "newcomer"], s.bids.map((b) =>
        `<tr class="bid"><td>${addr(b.agent, names)}</td><td>${num(b.score, 9)}</td><td>${b.newcomer ? "yes" : ""}</td></tr>`)) : "<div>no bid yet</div>");
      parts.push(cast(s.cast.bids));
      if (s.executors.length || s.timed_out.length) {
        parts.push(table(["executor", "score", "delivered"], [...s.executors.map((x) =>
          `<tr class="executor"><td>${addr(x.agent, names)}</td><td>${num(x.score, 9)}</td><td>${x.delivered ? "yes" : "not yet"}</td></tr>`),
          ...s.timed_out.map((x) => `<tr><td>${addr(x.agent, names)}</td><td>${num(x.score, 9)}</td><td class="error">timed out</td></tr>`)]));
        parts.push(cast(s.cast.executors));
      }
      if (s.results.length) {
        parts.push(table(["result by", "result"], s.results.map((r) => `<tr><td>${addr(r.agent, names)}</td><td class="mono">${esc(r.result)}</td></tr>`)));
        parts.push(cast(s.cast.results));
      }
      parts.push("</div>");
    }
    parts.push("</div>");
  }
  const v = t.vote;
  parts.push(`<div class="chain" id="vote"><h3>vote: ${esc(v.phase)}, ${v.commits.length} commit(s), ${v.reveals.length} reveal(s)</h3>${cast(v.cast.vote)}${cast(v.cast.voters)}`);
  if (v.commits.length) {
    parts.push(table(["committed by", "beacon", "commitment"], v.commits.map((x) =>
      `<tr class="commit"><td>${addr(x.voter, names)}</td><td>${x.beacon}</td><td class="mono">${esc(x.commitment.slice(0, 18))}…</td></tr>`)));
    parts.push(cast(v.cast.commits));
  }
  if (v.reveals.length) {
    parts.push(table(["revealed by", "beacon", "answer", "weight"], v.reveals.map((x) =>
      `<tr class="reveal"><td>${addr(x.voter, names)}</td><td>${x.beacon}</td><td>${x.answer ? esc(x.answer) : "<i>abstained</i>"}</td><td>${num(x.weight, 9)}</td></tr>`)));
    parts.push(cast(v.cast.reveals));
  }
  if (v.winning_answer) {
    parts.push(`<div id="winner" class="winner">${v.phase === "finalized" ? "winner" : "leading"}: ${esc(v.winning_answer)} with weight
      ${num(v.winning_weight_value)} of ${num(v.total_weight_value)} — ${v.winners.map((w) => addr(w, names)).join(", ")}</div>`);
  }
  parts.push("</div></div>");
  $("task").innerHTML = parts.join("");
}

function renderEvaluations(entries) {
  $("evaluations-box").hidden = entries === null;
  if (entries === null) return;
  $("evaluations").innerHTML = entries.length ? table(["id", "window", "detector", "status", "label", "confidence", "outcome", "score", "cast"],
    entries.map((e) => `<tr><td>${e.id}</td><td>${e.window}</td><td>${addr(e.detector, names)}</td><td>${esc(e.status)}</td>
      <td>${e.label ?? "-"}</td><td>${e.confidence_bp ?? "-"}</td><td>${esc(e.outcome ?? "-")}</td><td>${e.score ?? "-"}</td><td>${cast(e.cast)}</td></tr>`)) : "no entry yet";
}

function renderPolicies(policies) {
  $("policies-box").hidden = policies === null;
  if (policies === null) return;
  $("policies").innerHTML = policies.length ? table(["version", "sha256", "uri", "publisher", "revoked", "cast"],
    policies.map((p) => `<tr><td>${p.version}</td><td class="mono">${esc(p.sha256.slice(0, 18))}…</td><td>${esc(p.uri)}</td>
      <td>${addr(p.publisher, names)}</td><td>${p.revoked ? "yes: " + esc(p.reason) : ""}</td><td>${cast(p.cast)}</td></tr>`)) : "no version yet";
}

async function refresh() {
  if (refreshing) { again = true; return; }
  refreshing = true;
  try {
    const state = await getJSON("/api/state");
    setConnection(state.status);
    $("meta").textContent = `chain ${state.network.chain_id} at ${state.network.rpc_url} — block ${state.status.checkpoint_block ?? "-"}, ` +
      `${state.status.events} event(s), ${state.agents.length} agent(s), ${state.tasks.length} task(s)`;
    renderAgents(state.agents);
    renderTasks(state.tasks);
    renderEvaluations(state.evaluations);
    renderPolicies(state.policies);
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

$("search").onsubmit = async (event) => {
  event.preventDefault();
  const q = $("q").value.trim();
  const box = $("search-result");
  try {
    const found = await getJSON(`/api/search?q=${encodeURIComponent(q)}`);
    if (found.kind === "task") { selected = found.task.task; box.innerHTML = `task ${found.task.task} (below)`; refresh(); return; }
    if (found.kind === "beacon") { selected = found.task; box.innerHTML = `beacon ${found.beacon}: task ${found.task}, chain ${found.chain}, step ${found.step} (below)`; refresh(); return; }
    if (found.kind === "agent") { const a = found.agent; box.innerHTML = `agent <b>${esc(a.name)}</b> ${esc(a.address)}: stake ${num(a.stake_eth, 4)} ETH, reputation ${num(a.reputation_value)}, beacons won ${esc(a.beacons_won.join(", ") || "none")}${cast(a.cast)}`; return; }
    if (found.kind === "agents") { box.innerHTML = found.agents.map((a) => `agent <b>${esc(a.name)}</b> ${esc(a.address)}${cast(a.cast)}`).join(""); return; }
    if (found.kind === "transaction") { box.innerHTML = `transaction ${esc(found.tx)}: ` + found.events.map((e) => `${esc(e.contract)}.${esc(e.event)}`).join(", ") + cast(found.cast); return; }
    if (found.kind === "requester") { box.innerHTML = `requester ${esc(found.address)}: tasks ${found.tasks.map((t) => t.task).join(", ")}`; return; }
    if (found.kind === "contract") { box.innerHTML = `contract ${esc(found.contract.name)} (${esc(found.contract.role)}) at ${esc(found.contract.address)}`; return; }
    box.textContent = JSON.stringify(found);
  } catch (err) {
    box.innerHTML = `<span class="error">${esc(err.message)}</span>`;
  }
};

function connect() {
  const source = new EventSource("/api/events");
  source.addEventListener("status", (e) => { setConnection(JSON.parse(e.data)); refresh(); });
  source.addEventListener("change", () => refresh());
  source.onerror = () => setConnection({connected: false, error: "explorer server unreachable"});  // EventSource reconnects by itself
}
connect();
refresh();
