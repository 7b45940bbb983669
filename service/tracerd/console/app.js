// tracerd web console: plain JavaScript, no build step, no dependencies.
// Every URL is relative (works behind a reverse proxy under a prefix). The token lives in
// sessionStorage and travels as an Authorization header, or as the WebSocket subprotocol.
"use strict";

const $ = (sel) => document.querySelector(sel);
const ROLES = { viewer: 1, operator: 2, admin: 3 };
const TAIL_LINES = 1500;        // lines kept in the live tail
const LINE_PX = 16;             // height of a tail line (app.css .tail)
const PERFETTO_UI = new URLSearchParams(location.search).get("perfetto_ui") || "https://ui.perfetto.dev";

const st = {
  token: sessionStorage.getItem("tracerd.token"),
  me: null,
  sessions: [],
  current: null,        // the session shown in the session panel
  ws: null,
  paused: false,
  lastSeq: -1,          // the last seq shown (for resuming)
  pending: [],          // events and {text, cls} lines waiting for the next frame
  lines: [],            // the last TAIL_LINES of them (the tail draws those in view)
  rate: { n: 0, since: performance.now(), total: 0, repeated: 0, firstAt: 0, lastAt: 0 },
  prof: { messages: 0, parseMs: 0, handleMs: 0, frames: 0, renderMs: 0 },  // page time spent
  gaps: {},             // events lost in this subscription, by source (from `lost` messages)
  tools: [],
  mapsTimer: null,
};

// ---------------------------------------------------------------------------------- API

async function api(method, path, body, binary) {
  const headers = { Authorization: `Bearer ${st.token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (res.status === 401) {
    signOut("the daemon refused the token (revoked or wrong)");
    throw new Error("unauthenticated");
  }
  if (!res.ok) {
    let message = `${res.status} ${res.statusText}`;
    try { const e = await res.json(); message = e.error?.message || message; } catch (_) { /* not JSON */ }
    throw new Error(message);
  }
  if (binary) return res.arrayBuffer();
  return res.status === 204 ? null : res.json();
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) node.append(c instanceof Node ? c : document.createTextNode(String(c ?? "")));
  return node;
}

const fmtBytes = (n) => {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${i ? n.toFixed(1) : n} ${units[i]}`;
};
const fmtNum = (n) => (n ?? 0).toLocaleString("en-US");
const fmtNs = (ns) => (ns >= 1e9 ? `${(ns / 1e9).toFixed(3)} s` : ns >= 1e6 ? `${(ns / 1e6).toFixed(3)} ms`
  : ns >= 1e3 ? `${(ns / 1e3).toFixed(1)} µs` : `${ns} ns`);

// ------------------------------------------------------------------------------ sign-in

function signOut(why) {
  sessionStorage.removeItem("tracerd.token");
  st.token = null;
  st.me = null;
  closeStream();
  $("#app").hidden = true;
  $("#signout").hidden = true;
  $("#who").textContent = "";
  $("#signin").hidden = false;
  $("#signin-error").textContent = why || "";
}

async function signIn(token) {
  st.token = token;
  try {
    st.me = await api("GET", "v1/whoami");
  } catch (e) {
    signOut(`sign-in failed: ${e.message}`);
    return;
  }
  sessionStorage.setItem("tracerd.token", token);
  $("#signin").hidden = true;
  $("#app").hidden = false;
  $("#signout").hidden = false;
  $("#who").textContent = `${st.me.name || st.me.principal} (${st.me.role})`;
  for (const node of document.querySelectorAll("[data-role]")) {
    node.hidden = ROLES[st.me.role] < ROLES[node.dataset.role];
  }
  document.body.dataset.role = st.me.role;
  await refreshSessions();
}

// ----------------------------------------------------------------------------- sessions

function lostTotal(lost) {
  return Object.values(lost || {}).reduce((a, b) => a + b, 0);
}

function budgetText(spec) {
  const parts = [];
  if (spec.budget?.max_events_per_s) parts.push(`${fmtNum(spec.budget.max_events_per_s)} ev/s`);
  if (spec.budget?.max_bytes) parts.push(fmtBytes(spec.budget.max_bytes));
  if (spec.max_events) parts.push(`${fmtNum(spec.max_events)} events`);
  if (spec.duration_s) parts.push(`${spec.duration_s} s`);
  return parts.join(", ") || "—";
}

function deletionText(s) {
  const r = st.me?.retention;
  if (!r) return "";
  const notes = [];
  if (r.max_age_s > 0) {
    if (s.stopped_at) notes.push(new Date(Date.parse(s.stopped_at) + r.max_age_s * 1000).toLocaleString());
    else notes.push(`${r.max_age_s} s after it ends`);
  }
  if (r.max_events_per_session > 0) notes.push(`oldest beyond ${fmtNum(r.max_events_per_session)} events`);
  if (r.max_events_total > 0) notes.push(`when all exceed ${fmtNum(r.max_events_total)}`);
  return notes.join("; ") || "never";
}

async function refreshSessions() {
  if (!st.token) return;
  try {
    st.sessions = (await api("GET", "v1/sessions")).sessions;
  } catch (_) {
    return;
  }
  const operator = ROLES[st.me.role] >= ROLES.operator;
  const rows = st.sessions.map((s) => {
    const lost = s.counters.lost;
    const lostTitle = Object.entries(lost).map(([k, v]) => `${k} ${v}`).join(", ");
    const actions = [el("button", { onclick: () => openSession(s.id) }, "Open")];
    if (operator && ["starting", "running"].includes(s.state)) {
      actions.push(el("button", { onclick: () => stopSession(s.id) }, "Stop"));
    }
    if (operator && !["starting", "running", "stopping"].includes(s.state)) {
      actions.push(el("button", { onclick: () => deleteSession(s.id) }, "Delete"));
    }
    return el("tr", { class: st.current?.id === s.id ? "selected" : "", "data-id": s.id },
      el("td", { class: "num" }, s.id),
      el("td", {}, s.kind),
      el("td", {}, s.name || ""),
      el("td", { class: `state-${s.state}`, title: s.reason || "" }, s.state),
      el("td", {}, s.owner || ""),
      el("td", { class: "num" }, fmtNum(s.counters.events)),
      el("td", { class: "num", title: `${fmtNum(s.counters.stored)} events` }, fmtBytes(s.stored_bytes)),
      el("td", { class: "num", title: lostTitle }, fmtNum(lostTotal(lost))),
      el("td", {}, budgetText(s.spec)),
      el("td", {}, deletionText(s)),
      el("td", {}, actions));
  });
  $("#sessions tbody").replaceChildren(...rows);
  if (st.current) {
    const now = st.sessions.find((s) => s.id === st.current.id);
    if (now) { st.current = now; showStatus(); }
  }
}

async function stopSession(id) {
  try { await api("POST", `v1/sessions/${id}/stop`); } catch (e) { alert(`stop: ${e.message}`); }
  refreshSessions();
}

async function deleteSession(id) {
  if (!confirm(`Delete session ${id} and its events?`)) return;
  try { await api("DELETE", `v1/sessions/${id}`); } catch (e) { alert(`delete: ${e.message}`); return; }
  if (st.current?.id === id) closeSession();
  refreshSessions();
}

// ------------------------------------------------------------------------- create form

function showKind() {
  const kind = $("#kind").value;
  for (const node of document.querySelectorAll("#create-form [data-kind]")) {
    node.hidden = !node.dataset.kind.split(" ").includes(kind);
  }
}

async function openCreate() {
  $("#create-panel").hidden = false;
  $("#create-error").textContent = "";
  showKind();
  if (!st.tools.length) {
    try { st.tools = (await api("GET", "v1/bpf/tools")).tools; } catch (_) { st.tools = []; }
    $("#c-tool").replaceChildren(...st.tools.map((t) => el("option", { value: t.name }, t.name)));
    showTool();
  }
}

function showTool() {
  const tool = st.tools.find((t) => t.name === $("#c-tool").value);
  $("#tool-summary").textContent = tool ? `${tool.summary}${tool.mirrors ? ` (like ${tool.mirrors})` : ""}` : "";
  $("#tool-params").replaceChildren(...(tool?.params || []).map((p) => el("label", { title: p.description },
    `${p.name} `,
    p.type === "bool"
      ? el("input", { type: "checkbox", "data-param": p.name, "data-type": p.type, checked: p.default === true })
      : el("input", { "data-param": p.name, "data-type": p.type, placeholder: p.default ?? "", title: p.description }),
    el("span", { class: "hint" }, ` ${p.description}`))));
}

let tpTimer = null;
function suggestTracepoints() {
  clearTimeout(tpTimer);
  tpTimer = setTimeout(async () => {
    const last = $("#c-events").value.split(",").pop().trim();
    if (last.length < 2) return;
    try {
      const list = (await api("GET", `v1/tracepoints?q=${encodeURIComponent(last)}`)).tracepoints.slice(0, 50);
      const prefix = $("#c-events").value.includes(",") ? $("#c-events").value.replace(/[^,]*$/, " ") : "";
      $("#tracepoints").replaceChildren(...list.map((t) => el("option", { value: `${prefix}${t.name}`.trim() })));
      const exact = list.find((t) => t.name === last);
      if (exact) {
        const d = await api("GET", `v1/tracepoints/${exact.system}/${exact.event}`);
        $("#tp-fields").textContent = `${exact.name}: ${d.fields.map((f) => `${f.type} ${f.name}`).join(", ")}`;
      }
    } catch (_) { /* the catalogue is a help, not a requirement */ }
  }, 200);
}

function lines(text) {
  return text.split("\n").map((s) => s.trim()).filter(Boolean);
}

function buildRequest() {
  const kind = $("#kind").value;
  const spec = {};
  const duration = parseFloat($("#c-duration").value);
  if (duration > 0) spec.duration_s = duration;
  const command = lines($("#c-command").value);
  if (kind === "tracefs") {
    spec.events = $("#c-events").value.split(",").map((s) => s.trim()).filter(Boolean);
    const filter = $("#c-filter").value.trim();
    if (filter) spec.filters = Object.fromEntries(spec.events.map((e) => [e, filter]));
    if (command.length) spec.command = command;
  } else if (kind === "ptrace") {
    const pid = parseInt($("#c-pid").value, 10);
    if (pid > 0) spec.pid = pid;
    else if (command.length) spec.command = command;
    const syscalls = $("#c-syscalls").value.split(",").map((s) => s.trim()).filter(Boolean);
    if (syscalls.length) spec.syscalls = syscalls;
    spec.follow_forks = $("#c-follow").checked;
  } else if (kind === "bpf") {
    spec.tool = $("#c-tool").value;
    spec.args = {};
    for (const input of document.querySelectorAll("#tool-params [data-param]")) {
      const type = input.dataset.type;
      if (type === "bool") { if (input.checked) spec.args[input.dataset.param] = true; continue; }
      if (input.value === "") continue;
      spec.args[input.dataset.param] = ["int", "float", "number"].includes(type) ? Number(input.value) : input.value;
    }
  } else {
    spec.bpftrace = $("#c-script").value;
  }
  const body = { kind: kind === "bpftrace" ? "bpf" : kind, spec };
  const name = $("#c-name").value.trim();
  if (name) body.name = name;
  return body;
}

async function createSession(event) {
  event.preventDefault();
  $("#create-error").textContent = "";
  let created;
  try {
    created = await api("POST", "v1/sessions", buildRequest());
  } catch (e) {
    $("#create-error").textContent = e.message;
    return;
  }
  $("#create-panel").hidden = true;
  await refreshSessions();
  openSession(created.id);
}

// ---------------------------------------------------------------------- session panel

function showStatus() {
  const s = st.current;
  $("#s-title").textContent = `Session ${s.id} · ${s.kind}${s.name ? ` · ${s.name}` : ""} · ${s.state}`;
  const lost = Object.entries(s.counters.lost).filter(([, v]) => v).map(([k, v]) => `${k} ${fmtNum(v)}`);
  $("#s-status").textContent = `${fmtNum(s.counters.events)} events, ${fmtNum(s.counters.stored)} stored `
    + `(${fmtBytes(s.stored_bytes)}), lost: ${lost.join(", ") || "none"}${s.reason ? ` — ${s.reason}` : ""}`;
  const operator = ROLES[st.me.role] >= ROLES.operator;
  $("#s-stop").hidden = !operator || !["starting", "running"].includes(s.state);
  $("#s-delete").hidden = !operator || ["starting", "running", "stopping"].includes(s.state);
}

function openSession(id) {
  const s = st.sessions.find((x) => x.id === id);
  if (!s) return;
  st.current = s;
  $("#session-panel").hidden = false;
  showStatus();
  clearTail();
  $("#report").replaceChildren();
  $("#f-from").value = "";
  st.rate = { n: 0, since: performance.now(), total: 0, repeated: 0, firstAt: 0, lastAt: 0 };
  selectTab("live");
  // a running session: live from now; an ended one: its last TAIL_LINES events
  subscribe(["running", "starting"].includes(s.state) ? null : Math.max(0, s.counters.events - TAIL_LINES));
  showRate();
  refreshSessions();
}

function closeSession() {
  closeStream();
  clearInterval(st.mapsTimer);
  st.current = null;
  $("#session-panel").hidden = true;
}

function selectTab(name) {
  for (const b of document.querySelectorAll(".tabs button")) b.classList.toggle("active", b.dataset.tab === name);
  for (const t of ["live", "reports", "maps"]) $(`#tab-${t}`).hidden = t !== name;
  clearInterval(st.mapsTimer);
  if (name === "maps") { loadMaps(); st.mapsTimer = setInterval(loadMaps, 2000); }
  if (name === "reports" && !$("#report").childElementCount) loadReport();
}

// --------------------------------------------------------------------------- live tail

function closeStream() {
  if (st.ws) { st.ws.onclose = null; st.ws.close(); st.ws = null; }
}

function subscribe(fromSeq) {
  closeStream();
  if (!st.current) return;
  const params = new URLSearchParams();
  for (const n of $("#f-names").value.split(",").map((s) => s.trim()).filter(Boolean)) params.append("name", n);
  for (const p of $("#f-pids").value.split(",").map((s) => s.trim()).filter(Boolean)) params.append("pid", p);
  if (fromSeq !== null && fromSeq !== undefined) params.set("from_seq", String(fromSeq));
  params.set("format", "columns");  // one array per key: a third of the bytes to parse
  const url = new URL(`v1/sessions/${st.current.id}/stream?${params}`, location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(url, [st.token]);
  st.ws = ws;
  st.paused = false;
  st.gaps = {};
  $("#f-pause").textContent = "Pause";
  ws.onmessage = (m) => {
    const t0 = performance.now();
    const msg = JSON.parse(m.data);
    const t1 = performance.now();
    onMessage(msg);
    const pr = st.prof;
    pr.messages++; pr.parseMs += t1 - t0; pr.handleMs += performance.now() - t1;
  };
  ws.onclose = (e) => {
    if (st.ws !== ws) return;
    st.ws = null;
    if (e.code === 4401) signOut("the token was revoked");
    else meta(`stream closed (${e.code}${e.reason ? ` ${e.reason}` : ""})`);
  };
}

function eventText(ev) {
  const f = ev.fields || {};
  const body = typeof f.text === "string" && f.text ? f.text
    : Object.entries(f).map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`).join(" ");
  const task = ev.tid !== null && ev.tid !== undefined ? `${ev.comm ?? ""}-${ev.tid}` : "";
  const cpu = ev.cpu !== null && ev.cpu !== undefined ? `[${String(ev.cpu).padStart(3, "0")}]` : "";
  return `${String(ev.seq).padStart(8)} ${(ev.ts_ns / 1e9).toFixed(6)} ${task.padStart(20)} ${cpu} ${ev.name}: ${body}`;
}

function meta(text, cls) {
  st.pending.push({ text, cls: cls || "meta" });
  scheduleRender();
}

// The events i >= from of a `columns` message, as `events` messages carry them.
function columnEvents(msg, from) {
  const out = [];
  for (let i = from; i < msg.count; i++) {
    const comm = msg.comm[i];
    out.push({
      seq: msg.seq[i], ts_ns: msg.ts_ns[i], cpu: msg.cpu[i], pid: msg.pid[i], tid: msg.tid[i],
      comm: comm === null ? null : msg.comms[comm], name: msg.names[msg.name[i]], fields: msg.fields[i],
    });
  }
  return out;
}

function onMessage(msg) {
  if (msg.type === "columns") {
    // only the events not shown yet (a resume), and of those only the lines the tail keeps
    let first = 0;
    while (first < msg.count && msg.seq[first] <= st.lastSeq) first++;
    st.rate.repeated += first;
    const fresh = msg.count - first;
    onMessage({ type: "events", events: columnEvents(msg, Math.max(first, msg.count - TAIL_LINES * 2)) });
    st.rate.n += fresh - Math.min(fresh, TAIL_LINES * 2);
    st.rate.total += fresh - Math.min(fresh, TAIL_LINES * 2);
    return;
  }
  if (msg.type === "events") {
    const now = performance.now();
    if (!st.rate.total) st.rate.firstAt = now;
    st.rate.lastAt = now;
    let fresh = 0;
    for (const ev of msg.events) {
      if (ev.seq <= st.lastSeq) { st.rate.repeated++; continue; }  // already shown (a resume)
      st.lastSeq = ev.seq;
      st.pending.push(ev);  // formatted at render time, only if it is among the lines shown
      fresh++;
    }
    st.rate.n += fresh;
    st.rate.total += fresh;
    if (st.pending.length > TAIL_LINES * 2) st.pending.splice(0, st.pending.length - TAIL_LINES);
  } else if (msg.type === "lost") {
    st.gaps[msg.source] = (st.gaps[msg.source] || 0) + (msg.count || 0);
    if (msg.seq !== undefined && msg.seq !== null) st.lastSeq = Math.max(st.lastSeq, msg.seq);
    st.pending.push({ text: `── gap: ${fmtNum(msg.count)} events lost (${msg.source})${msg.cpu !== null && msg.cpu !== undefined ? ` on CPU ${msg.cpu}` : ""} ──`, cls: "gap" });
  } else if (msg.type === "state") {
    meta(`state: ${msg.state}`);
    refreshSessions();
  } else if (msg.type === "end") {
    meta("end of session");
    refreshSessions();
  } else if (msg.type === "maps") {
    if (!$("#tab-maps").hidden) renderMaps(msg);
  } else {
    meta(`${msg.type}: ${JSON.stringify(msg)}`);
  }
  scheduleRender();
}

let frame = 0;
function scheduleRender() {
  if (!frame) frame = requestAnimationFrame(render);
}

function clearTail() {
  st.lines = [];
  st.pending = [];
  st.lastSeq = -1;
  $("#tail").replaceChildren(el("div", { class: "spacer" }), el("div", { class: "rows" }));
  scheduleRender();
}

function render() {
  const t0 = performance.now();
  renderTail();
  st.prof.frames++;
  st.prof.renderMs += performance.now() - t0;
}

// The tail is virtual: the last TAIL_LINES lines are kept as they came (event objects, not
// text), a spacer gives the scroll height, and only the rows in view (a few dozen divs,
// reused) are formatted and drawn, once per animation frame, whatever the event rate.
function renderTail() {
  frame = 0;
  const tail = $("#tail");
  const [spacer, rows] = tail.children;
  if (!rows) return;
  if (st.pending.length) {
    const following = tail.scrollTop + tail.clientHeight >= tail.scrollHeight - LINE_PX;
    const lines = st.lines;
    for (const line of st.pending) lines.push(line);
    st.pending = [];
    const dropped = Math.max(0, lines.length - TAIL_LINES);
    if (dropped) lines.splice(0, dropped);
    spacer.style.height = `${lines.length * LINE_PX}px`;
    if (following) tail.scrollTop = tail.scrollHeight;
    else if (dropped) tail.scrollTop -= dropped * LINE_PX;  // keep the lines in view still
  }
  const first = Math.max(0, Math.floor(tail.scrollTop / LINE_PX) - 1);
  const end = Math.min(st.lines.length, first + Math.ceil(tail.clientHeight / LINE_PX) + 2);
  while (rows.childElementCount < end - first) rows.append(document.createElement("div"));
  while (rows.childElementCount > Math.max(0, end - first)) rows.lastElementChild.remove();
  rows.style.transform = `translateY(${first * LINE_PX}px)`;
  let div = rows.firstElementChild;
  for (let i = first; i < end; i++, div = div.nextElementSibling) {
    const line = st.lines[i];
    if (div.line === line) continue;  // already drawn
    div.line = line;
    div.className = line.cls || "";
    div.textContent = line.text === undefined ? eventText(line) : line.text;
  }
}

// the rate line, once a second (also when no message comes: it falls to 0 events/s)
function showRate() {
  const now = performance.now();
  $("#f-rate").textContent = st.current === null ? ""
    : `${fmtNum(Math.round(st.rate.n * 1000 / (now - st.rate.since)))} events/s, `
      + `${fmtNum(st.rate.total)} shown since subscribing; last seq ${st.lastSeq}`
      + Object.entries(st.gaps).map(([k, v]) => `; lost ${fmtNum(v)} (${k})`).join("");
  st.rate.n = 0;
  st.rate.since = now;
}

function togglePause() {
  if (st.ws) {
    closeStream();
    st.paused = true;
    $("#f-pause").textContent = "Resume";
    meta(`paused after seq ${st.lastSeq}`);
  } else {
    meta(`resuming from seq ${st.lastSeq + 1}`);
    subscribe(st.lastSeq + 1);
  }
}

// ---------------------------------------------------------------------------- reports

function table(headers, rows, numeric) {
  return el("table", {},
    el("thead", {}, el("tr", {}, headers.map((h, i) => el("th", { class: numeric?.[i] ? "num" : "" }, h)))),
    el("tbody", {}, rows.map((r) => el("tr", {}, r.map((c, i) => el("td", { class: numeric?.[i] ? "num" : "" }, c))))));
}

function barChart(labels, values, title) {
  const svgNs = "http://www.w3.org/2000/svg";
  const width = 760, bar = 16, left = 170, height = labels.length * bar + 24;
  const max = Math.max(1, ...values);
  const svg = document.createElementNS(svgNs, "svg");
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
  svg.setAttribute("class", "chart");
  const add = (tag, attrs, text) => {
    const n = document.createElementNS(svgNs, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
    if (text !== undefined) n.textContent = text;
    svg.append(n);
  };
  add("text", { x: 0, y: 12 }, title);
  labels.forEach((label, i) => {
    const y = 20 + i * bar;
    add("text", { x: left - 6, y: y + 11, "text-anchor": "end" }, label);
    add("rect", { x: left, y: y + 2, width: Math.max(0, (values[i] / max) * (width - left - 80)), height: bar - 4, fill: "#2563eb" });
    add("text", { x: left + (values[i] / max) * (width - left - 80) + 4, y: y + 11 }, fmtNum(values[i]));
  });
  return svg;
}

async function loadReport() {
  const s = st.current;
  if (!s) return;
  const kind = $("#r-kind").value;
  const path = kind === "summary" ? `v1/sessions/${s.id}/report`
    : kind === "top" ? `v1/sessions/${s.id}/report/top?field=comm` : `v1/sessions/${s.id}/report/${kind}`;
  const out = $("#report");
  out.replaceChildren(el("p", { class: "hint" }, "loading…"));
  let r;
  try { r = await api("GET", path); } catch (e) { out.replaceChildren(el("p", { class: "error" }, e.message)); return; }
  const parts = [];
  if (kind === "summary") {
    parts.push(el("p", {}, `${fmtNum(r.events)} events over ${(r.span_s ?? 0).toFixed(6)} s; lost `
      + `${Object.entries(r.lost).map(([k, v]) => `${k} ${v}`).join(", ") || "none"}`));
    parts.push(barChart(r.names.map((n) => n.name), r.names.map((n) => n.count), "events by name"));
    if (r.rate.counts.length) {
      parts.push(barChart(r.rate.counts.map((_, i) => `+${fmtNs(i * r.rate.bucket_ns)}`), r.rate.counts, "events over time"));
    }
    parts.push(table(["pid", "comm", "events"], r.top_pids.map((p) => [p.pid, p.comm, fmtNum(p.count)]), [1, 0, 1]));
  } else if (kind === "syscalls") {
    const rows = [...r.rows, r.total].map((x) => [x.percent_time ?? "", x.seconds ?? "", x.usecs_per_call ?? "",
      fmtNum(x.calls), x.errors ?? "", x.syscall]);
    parts.push(table(["% time", "seconds", "usecs/call", "calls", "errors", "syscall"], rows, [1, 1, 1, 1, 1, 0]));
    if (r.note) parts.push(el("p", { class: "hint" }, r.note));
  } else if (kind === "latency") {
    const p = r.percentiles;
    parts.push(el("p", {}, `${fmtNum(r.count)} values of ${r.field}; p50 ${p.p50} p90 ${p.p90} p99 ${p.p99} max ${p.max} ${r.unit || ""}`));
    parts.push(barChart(r.log2.map((b) => `${b.low} -> ${b.high}`), r.log2.map((b) => b.count), `${r.field} (log2 buckets)`));
  } else if (kind === "timeline") {
    parts.push(barChart(r.buckets.map((b) => `+${fmtNs(b.start_ns - (r.start_ns || 0))}`), r.buckets.map((b) => b.total),
      `events per ${fmtNs(r.bucket_ns)}`));
  } else if (kind === "top") {
    parts.push(barChart(r.rows.map((x) => String(x.value)), r.rows.map((x) => x.count), `top ${r.field}`));
  } else if (kind === "sched") {
    parts.push(table(["tid", "comm", "on CPU", "switches", "preempted", "wait", "waits", "max wait"],
      r.tasks.map((t) => [t.tid, t.comm, fmtNs(t.oncpu_ns), fmtNum(t.switches), fmtNum(t.preempted),
        fmtNs(t.wait_ns), fmtNum(t.waits), fmtNs(t.wait_max_ns)]), [1, 0, 1, 1, 1, 1, 1, 1]));
  }
  out.replaceChildren(...parts);
}

// ------------------------------------------------------------------------------- maps

async function loadMaps() {
  if (!st.current) return;
  try { renderMaps(await api("GET", `v1/sessions/${st.current.id}/maps`)); } catch (e) {
    $("#maps").replaceChildren(el("p", { class: "error" }, e.message));
  }
}

function renderMaps(snapshot) {
  const parts = [el("p", { class: "hint" }, snapshot.ts_ns ? `snapshot at ${(snapshot.ts_ns / 1e9).toFixed(3)} s${snapshot.live ? " (live)" : ""}` : "no map snapshot yet")];
  for (const [name, value] of Object.entries(snapshot.maps || {})) {
    if (value?.buckets) {
      parts.push(barChart(value.buckets.map((b) => `${b.low} -> ${b.high}`), value.buckets.map((b) => b.count), `${name} (${value.unit || "value"})`));
    } else if (Array.isArray(value?.entries)) {
      const entries = value.entries.slice(0, 200);
      if (entries.length && entries[0].buckets) {
        for (const e of entries.slice(0, 8)) {
          parts.push(barChart(e.buckets.map((b) => `${b.low} -> ${b.high}`), e.buckets.map((b) => b.count), `${name}[${JSON.stringify(e.key)}]`));
        }
      } else {
        parts.push(el("h3", {}, name), table(["key", "value"], entries.map((e) => [JSON.stringify(e.key), JSON.stringify(e.value)]), [0, 1]));
      }
    } else {
      parts.push(el("p", {}, `${name}: ${JSON.stringify(value?.value ?? value)}`));
    }
  }
  $("#maps").replaceChildren(...parts);
}

// ---------------------------------------------------------------------------- Perfetto

// Perfetto UI's documented postMessage protocol: PING until the UI answers PONG, then
// {perfetto: {buffer, title, fileName}}. The trace goes from this tab to the UI tab only.
async function openInPerfetto() {
  const s = st.current;
  if (!s) return;
  const ui = window.open(PERFETTO_UI, "_blank");   // opened in the click itself (popup blockers)
  if (!ui) { alert("the browser blocked the Perfetto window"); return; }
  let buffer;
  try {
    buffer = await api("GET", `v1/sessions/${s.id}/export?format=perfetto`, undefined, true);
  } catch (e) {
    ui.close();
    alert(`export: ${e.message}`);
    return;
  }
  const origin = new URL(PERFETTO_UI).origin;
  const ping = setInterval(() => ui.postMessage("PING", origin), 50);
  const stopAt = Date.now() + 30000;
  const onMessage = (e) => {
    if (e.source !== ui || e.data !== "PONG") return;
    clearInterval(ping);
    window.removeEventListener("message", onMessage);
    ui.postMessage({ perfetto: { buffer, title: `tracerd session ${s.id}`, fileName: `session-${s.id}.perfetto-trace` } }, origin);
  };
  window.addEventListener("message", onMessage);
  setTimeout(() => { if (Date.now() >= stopAt) clearInterval(ping); }, 30000);
}

// ------------------------------------------------------------------------------- wiring

$("#signin-form").addEventListener("submit", (e) => { e.preventDefault(); signIn($("#token").value.trim()); });
$("#signout").addEventListener("click", () => signOut(""));
$("#new-session").addEventListener("click", openCreate);
$("#create-cancel").addEventListener("click", () => { $("#create-panel").hidden = true; });
$("#create-form").addEventListener("submit", createSession);
$("#kind").addEventListener("change", showKind);
$("#c-tool").addEventListener("change", showTool);
$("#c-events").addEventListener("input", suggestTracepoints);
$("#s-close").addEventListener("click", closeSession);
$("#s-stop").addEventListener("click", () => stopSession(st.current.id));
$("#s-delete").addEventListener("click", () => deleteSession(st.current.id));
$("#s-perfetto").addEventListener("click", openInPerfetto);
$("#f-apply").addEventListener("click", () => {
  const from = $("#f-from").value;
  clearTail();
  subscribe(from === "" ? null : parseInt(from, 10));
});
$("#f-pause").addEventListener("click", togglePause);
$("#tail").addEventListener("scroll", scheduleRender, { passive: true });
$("#r-load").addEventListener("click", loadReport);
for (const b of document.querySelectorAll(".tabs button")) b.addEventListener("click", () => selectTab(b.dataset.tab));
setInterval(refreshSessions, 2000);
setInterval(showRate, 1000);

if (st.token) signIn(st.token); else signOut("");
