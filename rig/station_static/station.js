// The operator's station page: shows the picture the station pushes over its WebSocket
// (rig/station_state.py) and sends the operator's commands (rig/station_app.py).
// Keyboard: Enter in the serial field starts; Y / N answer a prompt; Escape asks to
// abort (Enter confirms, Escape goes on). The WebSocket reconnects by itself: a
// restarted station sends its picture, including what happened to the unit in progress.
"use strict";

const $ = (id) => document.getElementById(id);
let state = null;        // the latest picture
let clockOffset = 0;     // station clock - page clock, seconds (for the prompt's countdown)
let socket = null;
let retryMs = 300;
let toastTimer = null;

// -- the live feed ---------------------------------------------------------------------
function connect() {
  const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws";
  socket = new WebSocket(url);
  socket.onopen = () => { retryMs = 300; setLink(true); };
  socket.onmessage = (msg) => {
    const picture = JSON.parse(msg.data);
    clockOffset = picture.now - Date.now() / 1000;
    state = picture;
    render();
  };
  socket.onclose = () => {
    setLink(false);
    setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, 3000);
  };
  socket.onerror = () => socket.close();
}

function setLink(up) {
  const link = $("link");
  link.className = up ? "up" : "down";
  link.textContent = up ? "● connected" : "reconnecting…";
  document.body.dataset.link = up ? "up" : "down";
}

// -- commands ----------------------------------------------------------------------------
async function post(path, body) {
  try {
    const reply = await fetch(path, {
      method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify(body || {}),
    });
    const data = await reply.json().catch(() => ({}));
    if (!reply.ok) toast(data.error || (data.detail ? "invalid input" : `error ${reply.status}`));
    return reply.ok;
  } catch (err) {
    toast("the station does not answer: reconnecting");
    return false;
  }
}

function toast(text) {
  const t = $("toast");
  t.textContent = text;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.hidden = true; }, 5000);
}

async function startUnit(event) {
  event.preventDefault();
  const serial = $("serial").value.trim();
  if (!serial) { toast("scan the unit's serial number first"); return; }
  if (await post("/api/start", {serial})) $("serial").value = "";
}

function answer(value) {
  const prompt = state && state.unit && state.unit.prompt;
  if (!prompt || !prompt.choices.includes(value)) return;
  $("prompt").hidden = true;  // at once: the station's picture follows
  post("/api/answer", {id: prompt.id, answer: value});
}

function running() {
  return state && state.running && state.unit && state.unit.phase !== "done";
}

function askAbort() {
  if (!running()) return;
  $("confirm-text").textContent = `Abort unit ${state.unit.serial}?`;
  $("confirm").hidden = false;
  $("confirm-abort").focus();
}

function closeConfirm() { $("confirm").hidden = true; focusSerial(); }

async function confirmAbort() {
  $("confirm").hidden = true;
  await post("/api/abort");
}

function focusSerial() {
  const serial = $("serial");
  if (!serial.disabled && $("prompt").hidden && $("confirm").hidden) serial.focus();
}

document.addEventListener("keydown", (e) => {
  if (!$("confirm").hidden) {
    if (e.key === "Escape") { e.preventDefault(); closeConfirm(); }
    else if (e.key === "Enter") { e.preventDefault(); confirmAbort(); }
    return;
  }
  if (!$("prompt").hidden) {
    const key = e.key.toLowerCase();
    if (key === "y" || key === "n") { e.preventDefault(); answer(key); return; }
    if (e.key === "Enter" && state.unit.prompt.choices.length === 1) {
      e.preventDefault(); answer(state.unit.prompt.choices[0]); return;
    }
  }
  if (e.key === "Escape") { e.preventDefault(); askAbort(); }
});

// -- drawing -----------------------------------------------------------------------------
function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

const STATUS = {pending: "", running: "RUNNING", passed: "PASS", failed: "FAIL",
  error: "ERROR", skipped: "SKIP", aborted: "ABORTED", "not run": "NOT RUN"};
// The unit's documents the station serves (rig/station_state.py DOCUMENTS).
const DOCUMENTS = {certificate: "Certificate", certificate_pdf: "Certificate (PDF)",
  trace: "Trace", trace_pdf: "Trace (PDF)"};
const PHASE = {starting: "starting…", running: "testing", aborting: "aborting…", done: ""};

function render() {
  if (!state) return;
  const info = state.info, unit = state.unit;
  $("station-name").textContent = `Station ${info.station}`;
  $("profile").textContent = `${info.profile} · variant ${info.variant}` +
    (info.virtual ? " · virtual bench" : "") + ` · ${info.operator}`;
  document.title = `${info.station} — EOL station`;
  // A page on another machine watches (rig/station_app.py): no commands from it.
  const watching = state.control === false;
  document.body.classList.toggle("watching", watching);
  const busy = running() || !!state.busy || watching;
  $("serial").disabled = busy;
  $("start").disabled = busy;
  $("abort").hidden = !running() || watching;
  $("abort").disabled = unit && unit.phase === "aborting";
  renderUnit(unit);
  renderPrompt(unit);
  renderVerdict(unit);
  renderHistory(state.history);
  if (!busy && document.activeElement !== $("serial")) focusSerial();
}

function renderUnit(unit) {
  $("idle").hidden = !!unit;
  $("idle").textContent = state.busy || (state.control === false ?
    "Watching: units are started on the station's own screen" :
    "Scan a unit's serial number, then Enter");
  $("unit-serial").textContent = unit ? unit.serial : "";
  $("unit-phase").textContent = unit ? PHASE[unit.phase] || "" : "";
  const steps = unit ? unit.steps : [];
  const finished = steps.filter((s) => !["pending", "running"].includes(s.status)).length;
  $("progress").textContent = steps.length ? `step ${Math.min(finished + 1, steps.length)}` +
    ` of ${steps.length}` : "";
  const list = $("steps");
  list.replaceChildren();
  let current = null;
  for (const step of steps) {
    const item = el("li", step.status.replace(" ", "-"));
    item.dataset.step = step.name;
    item.dataset.status = step.status;
    const head = el("div", "head");
    head.append(el("span", "status", STATUS[step.status] || step.status.toUpperCase()),
                el("span", "title", step.title));
    const ms = step.measurements;
    if (step.status !== "running" && ms.length)
      head.append(el("span", "count", `${ms.length} measurement${ms.length === 1 ? "" : "s"}`));
    if (step.spec_s !== null && step.spec_s !== undefined)
      head.append(el("span", "time", `${Number(step.spec_s).toFixed(1)} s`));
    item.append(head);
    // the running step shows each value as it comes; a finished one only what did not pass
    const shown = step.status === "running" ? ms : ms.filter((m) => m.verdict !== "PASS");
    if (shown.length) item.append(measurementTable(shown));
    if (step.message && !["passed", "skipped"].includes(step.status))
      item.append(el("div", "message", step.message));
    if (step.status === "running") current = item;
    list.append(item);
  }
  if (current) current.scrollIntoView({block: "nearest"});
}

function measurementTable(rows) {
  const table = el("table", "meas");
  for (const m of rows) {
    const tr = el("tr");
    tr.dataset.measurement = m.name;
    tr.append(el("td", "n", m.title), el("td", "v", m.value), el("td", "l", m.limits),
              el("td", "r " + m.verdict, m.verdict));
    table.append(tr);
  }
  return table;
}

let promptTimer = null;
function renderPrompt(unit) {
  const prompt = unit && unit.phase === "running" ? unit.prompt : null;
  const box = $("prompt");
  clearInterval(promptTimer);
  if (!prompt) { box.hidden = true; return; }
  if (box.hidden) document.activeElement && document.activeElement.blur();
  box.hidden = false;
  box.dataset.id = prompt.id;
  for (const id of ["yes", "no"]) $(id).disabled = state.control === false;
  $("prompt-step").textContent = prompt.step ? `Operator check — ${prompt.step}` : "Operator check";
  // the question without its "[y/n]": the buttons say it
  $("prompt-question").textContent = prompt.question.replace(/\s*\[[a-z/]+\]\s*$/, "");
  const yesOnly = prompt.choices.length === 1;
  $("no").hidden = yesOnly;
  $("yes").innerHTML = yesOnly ? "Done <kbd>Y</kbd>" : "Yes <kbd>Y</kbd>";
  const tick = () => {
    const left = Math.max(0, prompt.deadline - (Date.now() / 1000 + clockOffset));
    $("prompt-bar").style.width = `${100 * left / (prompt.timeout_s || 1)}%`;
    $("prompt-left").textContent = `${Math.ceil(left)} s left, then the step fails`;
  };
  tick();
  promptTimer = setInterval(tick, 250);
}

function renderVerdict(unit) {
  const box = $("verdict");
  const verdict = unit && unit.phase === "done" ? unit.verdict : null;
  box.hidden = !verdict;
  if (!verdict) return;
  box.className = verdict.outcome;
  box.dataset.outcome = verdict.outcome;
  $("verdict-word").textContent = verdict.word;
  $("verdict-serial").textContent = unit.serial;
  $("verdict-notice").textContent = unit.notice || (verdict.outcome === "passed" ? "" :
    verdict.message);
  const parts = [];
  if (verdict.n_steps) parts.push(`${verdict.n_steps} step${verdict.n_steps === 1 ? "" : "s"}`);
  if (verdict.n_measurements !== null && verdict.n_measurements !== undefined) {
    const bad = verdict.failed.filter((m) => m.verdict === "FAIL").length;
    parts.push(`${verdict.n_measurements} measurements` + (bad ? `, ${bad} out of limits` :
      verdict.outcome === "passed" ? ", all within limits" : ""));
  }
  const shift = state.history && state.history.shift;
  if (shift && shift.units) parts.push(`shift yield ${Math.round(shift.yield_pct)} %` +
    ` (${shift.passed} of ${shift.units})`);
  $("verdict-summary").textContent = parts.join(" · ");
  const list = $("verdict-failed");
  list.replaceChildren();
  for (const m of verdict.failed) {
    const li = el("li");
    li.dataset.measurement = m.name;
    li.append(el("span", "what", `${m.verdict === "FAIL" ? "" : m.verdict + " · "}${m.title}`),
              el("span", "", ` — ${m.step_title}: `), el("span", "num", m.value),
              el("span", "", `  (limits ${m.limits})`));
    list.append(li);
  }
  const named = new Set(verdict.failed.map((m) => m.step_title));
  for (const s of verdict.steps) {  // failed steps without a failed measurement: say why
    if (named.has(s.title)) continue;
    const li = el("li");
    li.append(el("span", "what", `${s.title}: `), el("span", "", s.message || s.outcome));
    list.append(li);
  }
  document.body.classList.toggle("small-verdict", list.children.length > 2);
  while (list.children.length > 5) list.lastChild.remove();
  const files = $("verdict-files");
  files.replaceChildren();
  for (const [name, label] of Object.entries(DOCUMENTS)) {
    if (!(verdict.documents || {})[name] || !unit.run_id) continue;
    const link = el("a", "doc", label);
    link.href = `/units/${encodeURIComponent(unit.run_id)}/${name}`;
    link.target = "_blank";
    link.dataset.document = name;
    files.append(link);
  }
  if (verdict.record) files.append(el("div", "record", `record ${verdict.record}`));
}

function renderHistory(history) {
  if (!history || !history.shift) return;
  const shift = history.shift;
  $("shift-label").textContent = shift.label;
  $("yield").textContent = shift.yield_pct === null ? "–" : `${Math.round(shift.yield_pct)} %`;
  $("shift-counts").textContent = !shift.runs ? "no unit tested yet in this shift" :
    `${shift.passed} of ${shift.units} unit` +
    `${shift.units === 1 ? "" : "s"} passed · ${shift.runs} run${shift.runs === 1 ? "" : "s"}` +
    (shift.first_pass_pct === null ? "" : ` · first pass ${Math.round(shift.first_pass_pct)} %`);
  const list = $("last");
  list.replaceChildren();
  for (const u of history.last) {
    const li = el("li");
    li.append(el("span", "sn", u.serial), el("span", "t", u.time),
              el("span", "o " + u.outcome, STATUS[u.outcome] || u.outcome.toUpperCase()));
    list.append(li);
  }
  const problem = $("store-problem");
  problem.hidden = !history.problem;
  problem.textContent = history.problem || "";
}

// -- wiring ------------------------------------------------------------------------------
$("scan").addEventListener("submit", startUnit);
$("abort").addEventListener("click", askAbort);
$("confirm-abort").addEventListener("click", confirmAbort);
$("confirm-cancel").addEventListener("click", closeConfirm);
for (const id of ["yes", "no"]) $(id).addEventListener("click", (e) =>
  answer(e.currentTarget.dataset.answer));
setLink(false);
connect();
