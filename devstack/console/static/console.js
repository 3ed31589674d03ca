// The local console: plain JavaScript, no build step, no library.
// Data: the devstack's own /console/api (JSON) and /console/api/stream (Server-Sent Events).
"use strict";

const API = "api";
const MAX_EVENTS = 400;
const SVG_NS = "http://www.w3.org/2000/svg";

const state = {
  info: null,
  events: [],          // bus feed items {seq, received_ms, event}, oldest first
  lastSeq: 0,
  runs: new Map(),     // run id -> run
  ownRuns: new Set(),  // runs started from this page: their call is shown when it exists
  followed: new Set(), // own runs whose call has been shown once (the reader may then pick another)
  calls: [],
  legs: [],
  selected: null,      // {kind: "call" | "leg", id}
  detail: null,
  openEvents: new Set(),
};

// ---- tiny DOM helpers ------------------------------------------------------------------------------
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}
function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined) continue;
    if (key === "dataset") Object.assign(el.dataset, value);
    else el.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}
const $ = (selector) => document.querySelector(selector);
const short = (sid) => (sid ? String(sid).slice(0, 10) + "…" : "—");
const clock = (ms) => {
  if (ms === null || ms === undefined) return "";
  const d = new Date(ms);
  return d.toLocaleTimeString([], { hour12: false }) + "." + String(d.getMilliseconds()).padStart(3, "0");
};
const timeOf = (text) => (text ? Date.parse(text) : null);
const badge = (text) => h("span", { class: "badge " + String(text || "").replace(/[^a-z_-]/gi, "") }, text || "—");

// A request that hangs (a devstack under load) must not hold the page's refreshes forever.
const FETCH_TIMEOUT_MS = 20000;
async function getJSON(path) {
  const resp = await fetch(`${API}/${path}`, { cache: "no-store", signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  if (!resp.ok) throw new Error(`${path}: ${resp.status}`);
  return resp.json();
}

// ---- header ----------------------------------------------------------------------------------------
function renderAbout() {
  const info = state.info;
  if (!info) return;
  const about = $("#about");
  about.replaceChildren(
    h("span", {}, "bus ", h("b", {}, info.bus_name), " · source ", h("b", {}, info.event_source)),
    h("span", {}, "API ", h("b", {}, info.api_url)),
    h("span", {}, "simulator ", h("b", {}, info.sim_url), ` (timers ×${info.sim_time_scale})`),
    h("span", {}, "AWS emulator ", h("b", {}, info.aws_endpoint_url)),
  );
  $("#feed-hint").textContent = `all with source ${info.event_source}`;
  const via = info.feed.subscriber
    ? `${info.feed.subscriber_type} subscriber ${info.feed.subscriber} on EventsV2 bus ${info.feed.bus_arn}`
    : `rule ${info.feed.rule} on bus ${info.bus_name}`;
  $("#feed-hint").title = `${via}: ${JSON.stringify(info.feed.pattern)} -> queue ${info.feed.queue}`;
}

// ---- scenarios and runs ----------------------------------------------------------------------------
function renderScenarios(scenarios) {
  $("#scenarios").replaceChildren(
    ...scenarios.map((sc) =>
      h("button", { class: "scenario", dataset: { key: sc.key }, title: sc.explains, onclick: () => startScenario(sc.key) }, "▶ " + sc.title),
    ),
  );
}

async function startScenario(key) {
  const button = document.querySelector(`button.scenario[data-key="${key}"]`);
  button.disabled = true;
  try {
    const resp = await fetch(`${API}/scenarios/${key}`, { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" });
    const body = await resp.json();
    if (!resp.ok) throw new Error(body.detail || resp.status);
    state.ownRuns.add(body.run.id);
    updateRun(body.run);
  } catch (err) {
    alert(`could not start ${key}: ${err.message}`);
  } finally {
    setTimeout(() => (button.disabled = false), 600);
  }
}

function updateRun(run) {
  const before = state.runs.get(run.id);
  if (!before || before.version <= run.version) {
    state.runs.set(run.id, run);
    renderRuns();
    if (run.status !== "running") refreshLists();
  }
  followOwnRun(run.id);
}

// The live stream and the reply to the start request race: whichever brings the call last, the call of a
// run started here is shown once, from the newest view of the run.
function followOwnRun(id) {
  const run = state.runs.get(id);
  if (!run || !run.plan_id || !state.ownRuns.has(id) || state.followed.has(id)) return;
  state.followed.add(id);
  select("call", run.plan_id);
}

function renderRuns() {
  const runs = [...state.runs.values()].sort((a, b) => b.id - a.id);
  $("#runs").replaceChildren(
    ...runs.map((run) =>
      h(
        "li",
        { class: "run", dataset: { key: run.key, status: run.status, runId: run.id } },
        h("div", { class: "head" }, h("span", { class: "title" }, run.title), badge(run.status)),
        run.plan_id ? h("div", {}, "call ", h("span", { class: "plan mono", onclick: () => select("call", run.plan_id) }, run.plan_id)) : null,
        h("div", { class: "lines" }, run.lines.slice(-4).map((line) => line.text).join("\n")),
      ),
    ),
  );
}

// ---- calls and legs lists --------------------------------------------------------------------------
async function refreshLists() {
  try {
    const [calls, legs] = await Promise.all([getJSON("calls"), getJSON("legs")]);
    state.calls = calls.calls;
    state.legs = legs.legs;
    renderCalls();
    renderLegs();
  } catch (err) {
    console.warn(err);
  }
}

function renderCalls() {
  const rows = state.calls.map((call) =>
    h(
      "tr",
      {
        dataset: { planId: call.plan_id },
        class: state.selected && state.selected.kind === "call" && state.selected.id === call.plan_id ? "selected" : null,
        onclick: () => select("call", call.plan_id),
      },
      h("td", { class: "mono" }, clock(timeOf(call.created_at))),
      h("td", {}, badge(call.status), call.outcome && call.outcome !== call.status ? h("span", { class: "muted" }, " " + call.outcome) : null),
      h("td", { class: "mono" }, `${call.customer} → ${call.agent}`),
      h("td", {}, call.dials),
    ),
  );
  $("#calls tbody").replaceChildren(...(rows.length ? rows : [h("tr", {}, h("td", { colspan: 4, class: "empty" }, "no call yet: run a scenario"))]));
}

function renderLegs() {
  const rows = state.legs.map((leg) =>
    h(
      "tr",
      {
        dataset: { legSid: leg.leg_sid },
        class: state.selected && state.selected.kind === "leg" && state.selected.id === leg.leg_sid ? "selected" : null,
        onclick: () => select("leg", leg.leg_sid),
      },
      h("td", { class: "mono", title: leg.leg_sid }, short(leg.leg_sid)),
      h("td", { class: "mono" }, leg.contact_uri || ""),
      h(
        "td",
        {},
        badge(leg.state),
        leg.terminal_status ? h("span", { class: "muted" }, " " + leg.terminal_status) : null,
        leg.recorded ? null : h("span", { class: "muted", title: "leg_state has not recorded this (yet): the state of its latest event on the bus" }, " *"),
      ),
      h("td", {}, leg.role ? `${leg.role} #${leg.attempt}` : h("span", { class: "muted" }, "single leg")),
    ),
  );
  $("#legs tbody").replaceChildren(...(rows.length ? rows : [h("tr", {}, h("td", { colspan: 4, class: "empty" }, "no leg yet"))]));
}

// ---- the selected call or leg ----------------------------------------------------------------------
function select(kind, id) {
  state.selected = { kind, id };
  state.detail = null;
  renderCalls();
  renderLegs();
  refreshDetail();
}

let detailPending = false;
async function refreshDetail() {
  const sel = state.selected;
  if (!sel || detailPending) return;
  detailPending = true;
  try {
    const body = await getJSON(sel.kind === "call" ? `calls/${sel.id}` : `legs/${sel.id}`);
    if (state.selected !== sel) return;
    state.detail = body;
    renderDetail();
  } catch (err) {
    console.warn(err);
  } finally {
    detailPending = false;
  }
}

function lanesOfDetail() {
  const d = state.detail;
  if (!d) return [];
  if (state.selected.kind === "call") return d.lanes;
  const leg = d.leg;
  return [{ label: "leg", number: leg.contact_uri, leg_sid: leg.leg_sid, status: leg.state, terminal_status: leg.terminal_status, timeline: d.timeline }];
}

function renderDetail() {
  const panel = $("#detail");
  const sel = state.selected;
  const d = state.detail;
  panel.dataset.kind = sel.kind;
  panel.dataset.id = sel.id;
  const head = $("#detail-head");
  if (sel.kind === "call") {
    const call = d.call;
    panel.dataset.status = call.status;
    head.replaceChildren(
      h("h2", {}, "Call ", h("span", { class: "mono" }, call.plan_id), " ", badge(call.status)),
      h(
        "div",
        { class: "facts" },
        h("span", {}, "customer ", h("b", { class: "mono" }, call.customer), call.customer_fallbacks.length ? ` (then ${call.customer_fallbacks.join(", ")})` : ""),
        h("span", {}, "agent ", h("b", { class: "mono" }, call.agent)),
        h("span", {}, "outcome ", h("b", {}, call.outcome || "—")),
        call.reason ? h("span", {}, "reason ", h("b", {}, call.reason)) : null,
        h("span", {}, "bridge ", h("b", { class: "mono" }, short(call.bridge_sid))),
        call.retry && call.retry.max_attempts > 1 ? h("span", {}, `re-dials: up to ${call.retry.max_attempts} per party, ${call.retry.delay_seconds} s apart`) : null,
        call.hold_message ? h("span", {}, `hold message: “${call.hold_message}”`) : null,
      ),
    );
  } else {
    const leg = d.leg;
    panel.dataset.status = leg.state || "";
    head.replaceChildren(
      h("h2", {}, "Leg ", h("span", { class: "mono" }, leg.leg_sid), " ", badge(leg.state)),
      h(
        "div",
        { class: "facts" },
        h("span", {}, "number ", h("b", { class: "mono" }, leg.contact_uri || "—")),
        h("span", {}, "ended ", h("b", {}, leg.terminal_status || "—")),
        h("span", {}, "answered by ", h("b", {}, leg.answered_by || "—")),
        h("span", {}, "custom_param ", h("b", {}, leg.custom_param || "—")),
      ),
    );
  }
  const lanes = lanesOfDetail();
  $("#legend").hidden = false;
  $("#timeline").replaceChildren(drawTimeline(lanes));
  renderTimelineTable(lanes);
}

// An SVG sequence over time: one lane per leg (dial), its state as a bar, each event a mark where it happened
// with its name on the first free label row above the bar, bridge events joined across the lanes they concern.
function drawTimeline(lanes) {
  // drawn at the container's own width, so that text keeps its size
  const W = Math.max(640, Math.round($("#timeline").clientWidth || 1000));
  const LEFT = 150, RIGHT = 16, TOP = 26, BAR = 10, ROW = 14, CHAR = 6.2;
  const all = lanes.flatMap((lane) => lane.timeline.filter((e) => e.t !== null));
  const t0 = all.length ? Math.min(...all.map((e) => e.t)) : 0;
  const t1 = all.length ? Math.max(...all.map((e) => e.t)) : 1000;
  const span = Math.max(t1 - t0, 1000);
  const x = (t) => LEFT + ((t - t0) / span) * (W - LEFT - RIGHT);

  // lay out each lane's labels first: a label goes on the lowest row where it overlaps no other
  const layouts = lanes.map((lane) => {
    const rows = [];
    const placed = lane.timeline
      .filter((e) => e.t !== null)
      .map((e) => {
        const ex = x(e.t);
        const width = e.event_name.length * CHAR + 6;
        const rightAligned = ex + width > W - 2;
        const from = rightAligned ? ex - width : ex - 2;
        let row = rows.findIndex((end) => end < from);
        if (row === -1) row = rows.push(-Infinity) - 1;
        rows[row] = from + width;
        return { e, ex, row, rightAligned };
      });
    return { placed, rows: Math.max(1, rows.length) };
  });
  const heights = layouts.map((l) => Math.max(64, 26 + l.rows * ROW + BAR + 16));
  const height = TOP + heights.reduce((a, b) => a + b, 0) + 6;
  const svg = s("svg", { viewBox: `0 0 ${W} ${height}`, role: "img", "aria-label": "timeline of the legs" });
  if (!all.length) svg.append(s("text", { x: LEFT, y: TOP + 30, class: "lane-sub" }, "no event yet"));

  const axis = s("g", { class: "axis" });
  const step = niceStep(span / 8);
  for (let v = 0; v <= span + 1; v += step) {
    axis.append(s("line", { x1: x(t0 + v), x2: x(t0 + v), y1: TOP - 6, y2: height - 4 }));
    axis.append(s("text", { x: x(t0 + v) + 2, y: TOP - 10 }, `+${(v / 1000).toFixed(step < 1000 ? 1 : 0)} s`));
  }
  svg.append(axis);

  const laneMid = [];
  let y = TOP;
  lanes.forEach((lane, i) => {
    const H = heights[i];
    const mid = y + H - 18;
    laneMid.push(mid);
    const g = s("g", { class: "lane", dataset: { legSid: lane.leg_sid || "", label: lane.label } });
    g.append(s("rect", { class: "lane-bg", x: 0, y: y + 3, width: W, height: H - 6, rx: 6 }));
    g.append(s("text", { class: "lane-label", x: 10, y: mid - 20 }, lane.label));
    g.append(s("text", { class: "lane-sub", x: 10, y: mid - 6 }, lane.number || ""));
    g.append(s("text", { class: "lane-sub", x: 10, y: mid + 8 }, lane.leg_sid ? short(lane.leg_sid) : lane.error || lane.status || ""));

    // the leg's state as a bar (connecting / ringing / connected), and "in a bridge" between joined and left
    const events = lane.timeline.filter((e) => e.t !== null);
    let current = null;
    let since = null;
    const segments = [];
    for (const e of events) {
      if (e.kind !== "leg" || !e.state || e.state === current) continue;
      if (current && current !== "terminal") segments.push([current, since, e.t]);
      current = e.state;
      since = e.t;
    }
    if (current && current !== "terminal") segments.push([current, since, t1]);
    for (const [name, from, to] of segments) {
      g.append(s("rect", { class: `seg ${name}`, x: x(from), y: mid - BAR / 2, width: Math.max(2, x(to) - x(from)), height: BAR, rx: 3, fill: `var(--${name})` }));
    }
    const joined = events.find((e) => e.event_name === "leg_joined_bridge");
    if (joined) {
      const left = events.find((e) => e.event_name === "leg_left_bridge" && e.t >= joined.t);
      g.append(s("rect", { class: "seg bridged", x: x(joined.t), y: mid + BAR / 2 + 2, width: Math.max(2, x(left ? left.t : t1) - x(joined.t)), height: 4, rx: 2, fill: "var(--bridged)" }));
    }

    for (const { e, ex, row, rightAligned } of layouts[i].placed) {
      const mark = s("g", { class: "ev", dataset: { name: e.event_name, origin: e.origin, kind: e.kind } });
      const where = e.origin === "bus" ? " · seen on the bus (not in the recorded timeline)" : "";
      mark.append(s("title", {}, `${e.event_name} · ${clock(e.t)} · +${((e.t - t0) / 1000).toFixed(3)} s${where}`));
      const ly = mid - BAR / 2 - 6 - row * ROW;
      mark.append(s("line", { x1: ex, x2: ex, y1: ly + 2, y2: mid - BAR / 2, stroke: "#c5ccda", "stroke-width": 0.8 }));
      if (e.kind === "action") {
        mark.append(s("rect", { x: ex - 5, y: mid - 5, width: 10, height: 10, transform: `rotate(45 ${ex} ${mid})`, fill: "var(--action)" }));
      } else if (e.kind === "bridge") {
        mark.append(s("rect", { x: ex - 5, y: mid - 5, width: 10, height: 10, fill: "var(--bridged)" }));
      } else {
        mark.append(s("circle", { cx: ex, cy: mid, r: 5, fill: e.state === "terminal" ? "var(--terminal)" : "#2b3550", stroke: "white", "stroke-width": 1 }));
      }
      if (e.origin === "bus") {
        mark.append(s("circle", { cx: ex, cy: mid, r: 8.5, fill: "none", stroke: "var(--action)", "stroke-dasharray": "2 2" }));
      }
      const anchor = rightAligned ? { x: ex - 2, "text-anchor": "end" } : { x: ex + 2 };
      mark.append(s("text", { class: `ev-label ${e.kind}`, y: ly, ...anchor }, e.event_name));
      g.append(mark);
    }
    svg.append(g);
    y += H;
  });

  // bridge events shared by several lanes: a dashed link, as in a sequence diagram
  const byEvent = new Map();
  lanes.forEach((lane, i) => {
    for (const e of lane.timeline) {
      if (e.kind !== "bridge" || e.t === null) continue;
      if (!byEvent.has(e.event_sid)) byEvent.set(e.event_sid, { t: e.t, lanes: [] });
      byEvent.get(e.event_sid).lanes.push(i);
    }
  });
  for (const { t, lanes: idx } of byEvent.values()) {
    if (idx.length < 2) continue;
    const ys = idx.map((i) => laneMid[i]);
    svg.append(s("line", { class: "link", x1: x(t), x2: x(t), y1: Math.min(...ys), y2: Math.max(...ys) }));
  }
  return svg;
}

function niceStep(raw) {
  const steps = [100, 200, 250, 500, 1000, 2000, 5000, 10000, 15000, 30000, 60000, 120000, 300000];
  return steps.find((step) => step >= raw) || 600000;
}

function renderTimelineTable(lanes) {
  const rows = lanes.flatMap((lane) => lane.timeline.map((e) => ({ lane, e })));
  rows.sort((a, b) => (a.e.t ?? 0) - (b.e.t ?? 0));
  const t0 = rows.length ? rows[0].e.t : 0;
  const table = $("#timeline-table");
  table.replaceChildren(
    h("thead", {}, h("tr", {}, h("th", {}, "+s"), h("th", {}, "lane"), h("th", {}, "event"), h("th", {}, "state"), h("th", {}, "details"), h("th", {}, "from"))),
    h(
      "tbody",
      {},
      rows.map(({ lane, e }) =>
        h(
          "tr",
          { dataset: { name: e.event_name, origin: e.origin } },
          h("td", { class: "when" }, e.t !== null ? ((e.t - t0) / 1000).toFixed(3) : "?"),
          h("td", {}, lane.label),
          h("td", { class: `name ${e.kind}` }, e.event_name),
          h("td", {}, e.state || ""),
          h("td", { class: "mono" }, details(e)),
          h("td", { class: `origin ${e.origin}` }, e.origin === "bus" ? "bus feed" : "recorded"),
        ),
      ),
    ),
  );
}

function details(e) {
  const parts = [];
  if (e.answered_by) parts.push(`answered_by=${e.answered_by}`);
  if (e.terminal_status) parts.push(`terminal_status=${e.terminal_status}`);
  if (e.bridge_sid) parts.push(`bridge=${short(e.bridge_sid)}`);
  const inner = (e.detail && e.detail.event_data && e.detail.event_data.data) || null;
  if (inner && inner.text) parts.push(`“${inner.text}”`);
  if (inner && inner.hangup_reason) parts.push(`hangup=${inner.hangup_reason}`);
  return parts.join("  ");
}

// ---- live events -----------------------------------------------------------------------------------
function addEvents(items, fresh) {
  for (const item of items) {
    if (item.seq <= state.lastSeq) continue;
    state.events.push(item);
    state.lastSeq = item.seq;
  }
  if (state.events.length > MAX_EVENTS) state.events.splice(0, state.events.length - MAX_EVENTS);
  renderEvents(fresh ? new Set(items.map((i) => i.seq)) : new Set());
}

function summary(item) {
  const ev = item.event || {};
  const detail = ev.detail || {};
  const data = detail.data || {};
  return {
    type: ev["detail-type"] || detail.event_name || "?",
    kind: kindOf(detail.event_type),
    sid: data.leg_sid || data.bridge_sid || "",
    legSid: data.leg_sid || "",
    state: data.state || "",
    time: timeOf(detail.event_timestamp) || item.received_ms,
  };
}
function kindOf(eventType) {
  if (eventType === "leg_action_event") return "action";
  if (eventType === "bridge_lifecycle_event") return "bridge";
  return "leg";
}

function renderEvents(freshSeqs) {
  const needle = $("#filter").value.trim().toLowerCase();
  const list = [];
  for (let i = state.events.length - 1; i >= 0; i--) {
    const item = state.events[i];
    const sum = summary(item);
    const text = JSON.stringify(item.event).toLowerCase();
    if (needle && !text.includes(needle)) continue;
    const open = state.openEvents.has(item.seq);
    list.push(
      h(
        "li",
        {
          class: "event" + (freshSeqs.has(item.seq) ? " fresh" : ""),
          dataset: { seq: item.seq, type: sum.type, legSid: sum.legSid, kind: sum.kind },
          onclick: (ev) => {
            if (ev.target.closest("pre")) return;
            open ? state.openEvents.delete(item.seq) : state.openEvents.add(item.seq);
            renderEvents(new Set());
          },
        },
        h(
          "div",
          { class: "row" },
          h("span", { class: "when" }, clock(sum.time)),
          h("span", { class: `name ${sum.kind}` }, sum.type),
          sum.state ? badge(sum.state) : null,
          item.repeat ? h("span", { class: "badge repeat", title: "this event_sid was on the bus before: a repeated delivery (subscribers de-duplicate on detail.event_sid)" }, "repeat") : null,
          h(
            "span",
            {
              class: "sid",
              title: sum.sid,
              onclick: (ev) => {
                if (!sum.legSid) return;
                ev.stopPropagation();
                select("leg", sum.legSid);
              },
            },
            short(sum.sid),
          ),
        ),
        open ? h("pre", { class: "json" }, JSON.stringify(item.event, null, 2)) : null,
      ),
    );
  }
  $("#events").replaceChildren(...(list.length ? list : [h("li", { class: "empty" }, needle ? "nothing matches" : "no event on the bus yet")]));
}

// ---- queues ----------------------------------------------------------------------------------------
async function refreshQueues() {
  try {
    const body = await getJSON("queues");
    $("#queues tbody").replaceChildren(
      ...body.queues.map((q) =>
        h(
          "tr",
          { dataset: { queue: q.name, visible: q.visible } },
          h("td", { title: q.role }, h("span", { class: "mono" }, q.name.replace(/^exotel-legs-/, "")), h("span", { class: "role" }, q.role.split(":")[0])),
          h("td", { class: "num" + (q.visible && q.peekable ? " nonzero" : "") }, q.visible),
          h("td", { class: "num" }, q.in_flight),
          h("td", { class: "num" }, q.delayed),
          h("td", {}, q.peekable ? h("button", { onclick: () => peek(q.name), title: "look at the first messages; they stay in the queue" }, "peek") : h("span", { class: "muted", title: "a function drains this queue: a look would race it, so only its counts are shown" }, "—")),
        ),
      ),
    );
  } catch (err) {
    console.warn(err);
  }
}

async function peek(name) {
  const box = $("#peek");
  box.hidden = false;
  box.replaceChildren(h("div", { class: "muted" }, `looking into ${name}…`));
  try {
    const body = await getJSON(`queues/${name}/messages`);
    box.replaceChildren(
      h("div", {}, h("b", { class: "mono" }, name), " ", h("span", { class: "muted" }, `${body.messages.length} message(s), left in the queue`), " ", h("button", { onclick: () => (box.hidden = true) }, "close")),
      ...body.messages.map((m) => h("pre", { class: "json" }, JSON.stringify({ sent: new Date(m.sent_ms).toISOString(), receive_count: m.receive_count, attributes: m.attributes, body: m.body }, null, 2))),
    );
  } catch (err) {
    box.replaceChildren(h("div", { class: "muted" }, `could not look: ${err.message}`));
  }
}

// ---- the live stream ---------------------------------------------------------------------------------
let refreshTimer = null;
function soon() {
  if (refreshTimer) return;
  refreshTimer = setTimeout(() => {
    refreshTimer = null;
    refreshLists();
    refreshDetail();
  }, 600);
}

function connect() {
  const live = $("#live");
  const source = new EventSource(`${API}/stream?after=${state.lastSeq}`);
  source.onopen = () => {
    live.dataset.state = "open";
    live.textContent = "live";
  };
  source.onerror = () => {
    live.dataset.state = "closed";
    live.textContent = "reconnecting…";
  };
  source.addEventListener("bus", (msg) => {
    addEvents([JSON.parse(msg.data)], true);
    soon();
  });
  source.addEventListener("run", (msg) => updateRun(JSON.parse(msg.data)));
}

async function main() {
  $("#filter").addEventListener("input", () => renderEvents(new Set()));
  const [info, scenarios, runs, events] = await Promise.all([getJSON("info"), getJSON("scenarios"), getJSON("runs"), getJSON("events?limit=300")]);
  state.info = info;
  renderAbout();
  renderScenarios(scenarios.scenarios);
  for (const run of runs.runs) state.runs.set(run.id, run);
  renderRuns();
  addEvents(events.events, false);
  connect();
  refreshLists();
  refreshQueues();
  // polling is light and stops while the tab is hidden: the devstack shares one process with the functions
  setInterval(() => document.hidden || refreshQueues(), 5000);
  setInterval(() => document.hidden || refreshLists(), 5000);
  setInterval(() => {
    if (document.hidden) return;
    const d = state.detail;
    const done = d && (state.selected.kind === "call" ? ["completed", "failed"].includes(d.call.status) : d.leg.state === "terminal");
    if (!done) refreshDetail();
  }, 1500);
  document.body.dataset.ready = "true";
}

main().catch((err) => {
  $("#live").dataset.state = "closed";
  $("#live").textContent = `failed: ${err.message}`;
});
