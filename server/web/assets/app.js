// powerbridge's page: it asks /ui/api/state for the fleet as the pollers
// last read it, draws it, and switches through /ui/api/... behind a
// confirmation. Everything is built with DOM calls, never from HTML text,
// so that no name a config holds can become markup.
"use strict";

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
let state = null;   // the last state answered
let drawn = "";     // what the page shows, to redraw only on a change
let timer = null;

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") e.textContent = v;
    else if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const k of kids) if (k !== null && k !== undefined) e.append(k);
  return e;
}

function svg(tag, attrs, ...kids) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.setAttribute("class", v); else e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k);
  return e;
}

function clock(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
}

function ago(ms) {
  const s = Math.max(0, Math.round((state.now - ms) / 1000));
  if (s < 60) return s + " s ago";
  if (s < 3600) return Math.round(s / 60) + " min ago";
  return Math.round(s / 3600) + " h ago";
}

function num(v, unit, digits) {
  return v === undefined || v === null ? "" : v.toFixed(digits) + " " + unit;
}

function badge(word) {
  return el("span", { class: "state st-" + word.replace(/\s+/g, "-"), text: word });
}

// show switches between the sign-in form and the fleet.
function show(signedIn) {
  $("loading").hidden = true;
  $("login").hidden = signedIn;
  $("fleet").hidden = !signedIn;
  $("logout").hidden = !signedIn;
  if (!signedIn) {
    $("who").textContent = "";
    drawn = "";
    $("user").focus();
  }
}

async function refresh() {
  clearTimeout(timer);
  let next = 2000;
  try {
    const r = await fetch("/ui/api/state", { credentials: "same-origin", cache: "no-store" });
    if (r.status === 401) { state = null; show(false); return; }
    if (!r.ok) throw new Error("the state answered " + r.status);
    state = await r.json();
    next = state.refresh_seconds * 1000;
    show(true);
    draw();
  } catch (e) {
    notice("Cannot reach powerbridge: " + e.message + ". Trying again.", true);
  }
  timer = setTimeout(refresh, next);
}

function notice(text, error) {
  const n = $("notice");
  n.textContent = text;
  n.className = error ? "error" : "";
}

// draw redraws the fleet when it changed, keeping the keyboard focus on the
// button it was on.
function draw() {
  const { now, ...rest } = state;
  const sig = JSON.stringify(rest);
  if (sig === drawn) return;
  drawn = sig;
  const focused = document.activeElement && document.activeElement.dataset.key;
  $("who").textContent = "Signed in as " + state.principal + (state.read_only ? " (viewer: read-only)" : "");
  $("timeline-head").textContent = "Timeline since " + clock(span().start).slice(0, 5);
  const tbody = el("tbody");
  for (const m of state.machines) tbody.append(machineRow(m));
  $("machines").tBodies[0].replaceWith(tbody);
  $("pdus").replaceChildren(...state.pdus.map(pduCard));
  if (focused) {
    const again = document.querySelector(`[data-key="${CSS.escape(focused)}"]`);
    if (again) again.focus();
  }
}

function actions(kind, id, label, what) {
  if (state.read_only) return el("span", { class: "hint", text: "read-only" });
  const box = el("div", { class: "acts", role: "group", "aria-label": "Switch " + label });
  for (const a of ["on", "off", "cycle"]) {
    box.append(el("button", {
      type: "button", class: a === "on" ? "" : "danger", text: a,
      "data-key": kind + ":" + id + ":" + a,
      "data-action": a, "data-target": id,
      "aria-label": (a === "cycle" ? "Power-cycle " : "Switch ") + label + (a === "cycle" ? "" : " " + a),
      onclick: () => confirmThen(kind, id, a, what),
    }));
  }
  return box;
}

function machineRow(m) {
  const outs = m.outlets.map((o) => o.pdu + "/" + o.outlet);
  const cell = el("td", { "data-label": "State" }, badge(m.state));
  if (m.underway) cell.append(el("span", { class: "hint", text: " " + m.underway + " under way" }));
  if (m.detail) cell.append(el("div", { class: "detail", text: m.detail }));
  return el("tr", { "data-machine": m.name },
    el("th", { scope: "row", "data-label": "Machine", text: m.name }),
    cell,
    el("td", { "data-label": "Outlets" }, ...m.outlets.map((o) =>
      el("span", { class: "outlet", title: o.pdu + "/" + o.outlet + " " + o.state }, o.pdu + "/" + o.outlet + " ", badge(o.state)))),
    el("td", { "data-label": "Last action" }, lastWords(m.last)),
    el("td", { "data-label": "Timeline" }, timeline(m)),
    el("td", { "data-label": "Switch" }, actions("machine", m.name, m.name, { graceful: m.graceful, outlets: outs })));
}

function lastWords(l) {
  if (!l) return el("span", { class: "hint", text: "none yet" });
  return el("span", { class: l.ok ? "" : "error" }, l.action + " at " + clock(l.at) + " by " + l.principal + ": " + l.words);
}

// timeline draws a machine's states over the window as coloured bands.
// span is where the charts begin and how long they cover, in ms.
function span() {
  const start = state.since || state.now - state.window_seconds * 1000;
  return { start, w: Math.max(1000, state.now - start) };
}

function timeline(m) {
  const { start, w } = span();
  const s = svg("svg", { class: "timeline", viewBox: "0 0 300 14", preserveAspectRatio: "none", role: "img",
    "aria-label": m.name + "'s state over the last " + hours() + ": " + (m.timeline || []).map((t) => t.state + " from " + clock(t.from)).join(", ") });
  for (const t of m.timeline || []) {
    const x0 = Math.max(0, (t.from - start) / w * 300), x1 = ((t.to || state.now) - start) / w * 300;
    s.append(svg("rect", { class: "st-" + t.state.replace(/\s+/g, "-"), x: x0.toFixed(1), y: 0, width: Math.max(0.5, x1 - x0).toFixed(1), height: 14 },
      svg("title", {}, t.state + " from " + clock(t.from))));
  }
  return s;
}

function hours() {
  const h = span().w / 3600000;
  return h >= 1 ? h.toFixed(1).replace(/\.0$/, "") + " h" : Math.max(1, Math.round(h * 60)) + " min";
}

// chart draws one series of a PDU's polls over the window; a gap where it
// could not be read.
function chart(p, label, unit, series) {
  const { start, w } = span();
  const lines = [];
  let peak = 0, last = null;
  for (const idx of series.keys) {
    let pts = [], segs = [];
    for (const pt of p.chart || []) {
      const v = series.value(pt, idx);
      if (!pt.up || v === undefined || v === null) { if (pts.length) segs.push(pts); pts = []; continue; }
      peak = Math.max(peak, v);
      if (idx === series.keys[0]) last = v;
      pts.push([(pt.t - start) / w * 300, v]);
    }
    if (pts.length) segs.push(pts);
    lines.push(segs);
  }
  const top = peak > 0 ? peak * 1.15 : 1;
  const s = svg("svg", { class: "chart", viewBox: "0 0 300 60", preserveAspectRatio: "none", role: "img",
    "aria-label": label + " over the last " + hours() + (last === null ? ": no readings" : ": now " + last.toFixed(2) + " " + unit + ", peak " + peak.toFixed(2) + " " + unit) });
  lines.forEach((segs, i) => {
    for (const seg of segs) {
      const d = seg.map(([x, v], j) => (j ? "L" : "M") + x.toFixed(1) + " " + (58 - v / top * 56).toFixed(1)).join(" ");
      s.append(svg("path", { d: seg.length === 1 ? d + " h1" : d, class: "line line" + i }));
    }
  });
  return el("figure", { class: "chartbox" }, el("figcaption", { text: label + " since " + clock(start).slice(0, 5) + (peak ? " (peak " + peak.toFixed(1) + " " + unit + ")" : "") }), s);
}

function pduCard(p) {
  const head = el("div", { class: "pduhead" },
    el("h3", { text: p.name }), badge(p.up ? "up" : "unreachable"),
    el("span", { class: "hint", text: [p.vendor, p.model, p.firmware && "firmware " + p.firmware, p.dialect].filter(Boolean).join(" · ") }));
  const facts = el("p", { class: "facts" });
  if (p.last_read) facts.append(el("span", { text: "last read " + clock(p.last_read) + " (" + ago(p.last_read) + ")" }));
  if (p.load_amperes) facts.append(el("span", { text: "load " + p.load_amperes.map((a, i) => (p.load_amperes.length > 1 ? "phase " + (i + 1) + " " : "") + num(a, "A", 1)).join(", ") }));
  if (p.watts !== undefined) facts.append(el("span", { text: num(p.watts, "W", 0) }));
  if (p.budget) facts.append(budget(p.budget));
  const card = el("article", { class: "pdu", "data-pdu": p.name, "aria-labelledby": "pdu-" + p.name }, head, facts);
  head.firstChild.id = "pdu-" + p.name;
  if (p.error) card.append(el("p", { class: "error", text: (p.up ? "" : "Cannot be read: ") + p.error }));
  const phases = (p.chart || []).reduce((n, pt) => Math.max(n, (pt.a || []).length), 0);
  if (phases || (p.chart || []).some((pt) => pt.w !== undefined)) {
    const charts = el("div", { class: "charts" });
    if (phases) charts.append(chart(p, "Load", "A", { keys: [...Array(phases).keys()], value: (pt, i) => (pt.a || [])[i] }));
    if ((p.chart || []).some((pt) => pt.w !== undefined)) charts.append(chart(p, "Power", "W", { keys: [0], value: (pt) => pt.w }));
    card.append(charts);
  }
  const metered = p.outlets.some((o) => o.watts !== undefined);
  const rows = p.outlets.map((o) => {
    const ref = p.name + "/" + o.number;
    const st = el("td", { "data-label": "State" }, badge(o.state));
    if (o.pending) st.append(el("span", { class: "hint", text: " switching" }));
    return el("tr", { "data-outlet": ref },
      el("th", { scope: "row", "data-label": "Outlet", text: String(o.number) }),
      el("td", { "data-label": "Name", text: o.name || "" }),
      el("td", { "data-label": "Machine", text: o.machine || "" }),
      st,
      metered ? el("td", { "data-label": "Power", text: num(o.watts, "W", 0) }) : null,
      el("td", { "data-label": "Last action" }, o.last ? lastWords(o.last) : ""),
      el("td", { "data-label": "Switch" }, actions("outlet", ref, "outlet " + ref, { machine: o.machine })));
  });
  card.append(el("table", { class: "grid" },
    el("caption", { class: "sr", text: "Outlets of " + p.name }),
    el("thead", {}, el("tr", {}, ...["Outlet", "Name", "Machine", "State", metered ? "Power" : null, "Last action", "Switch"]
      .filter(Boolean).map((h) => el("th", { scope: "col", text: h })))),
    el("tbody", {}, ...rows)));
  if (p.unexpected) card.append(unexpected(p));
  return card;
}

// budget is a PDU's power budget in words: its max, the load, what is left.
function budget(b) {
  const words = [];
  if (b.load !== undefined) words.push(num(b.load, "A", 1) + " in use");
  if (b.reserved) words.push(num(b.reserved, "A", 1) + " expected of outlets just switched on");
  if (b.headroom !== undefined) words.push(num(b.headroom, "A", 1) + " headroom");
  return el("span", { class: "budget" + (b.headroom !== undefined && b.headroom <= 0 ? " error" : ""),
    text: "budget " + num(b.max, "A", 1) + (words.length ? ": " + words.join(", ") : "") });
}

// unexpected lists the outlets a read found switched behind powerbridge's
// back, newest first.
function unexpected(p) {
  const items = p.unexpected.slice().reverse().map((c) => el("li", { "data-unexpected": p.name + "/" + c.outlet },
    "outlet " + c.outlet + (c.machine ? " (" + c.machine + ")" : "") + " ", badge(c.from), el("span", { "aria-hidden": "true", text: " → " }), el("span", { class: "sr", text: " to " }), badge(c.to), " at " + clock(c.at)));
  return el("section", { class: "unexpected", "aria-label": "Changes nobody asked powerbridge for on " + p.name },
    el("h4", { text: "Changed without powerbridge (at the PDU, by another client, or by a restart)" }), el("ul", {}, ...items));
}

// confirmText says what an action will do, before it is done.
function confirmText(kind, id, a, what) {
  if (kind === "machine") {
    const outs = what.outlets.join(", ");
    if (a === "on") return ["Switch " + id + " on?", "Powers " + outs + " on."];
    if (a === "off") return ["Switch " + id + " off?", what.graceful
      ? "Clean shutdown over ssh, then cut: " + id + " is asked to shut down, and power to " + outs + " is cut once it is down."
      : "Cut without shutdown: power to " + outs + " is cut at once; " + id + " has no clean shutdown configured."];
    return ["Power-cycle " + id + "?", "Cut without shutdown, then on: power to " + outs + " is cut at once and switched back on after the PDU's power-on delay."];
  }
  const feeds = what.machine ? " It feeds " + what.machine + "." : "";
  if (a === "on") return ["Switch outlet " + id + " on?", "Powers outlet " + id + " on." + feeds];
  if (a === "off") return ["Switch outlet " + id + " off?", "Cut without shutdown: power to outlet " + id + " is cut at once." + feeds];
  return ["Power-cycle outlet " + id + "?", "Cut without shutdown, then on: outlet " + id + " is switched off and back on." + feeds];
}

function confirmThen(kind, id, a, what) {
  const [title, text] = confirmText(kind, id, a, what);
  const d = $("confirm");
  $("confirm-title").textContent = title;
  $("confirm-text").textContent = text;
  $("confirm-ok").textContent = a === "cycle" ? "Power-cycle" : "Switch " + a;
  d.returnValue = "";
  d.onclose = () => { if (d.returnValue === "ok") act(kind, id, a); };
  d.showModal();
  $("confirm-cancel").focus();
}

async function post(path) {
  const r = await fetch(path, { method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": state.csrf } });
  let body = {};
  try { body = await r.json(); } catch (e) { body = { error: "answer " + r.status }; }
  if (r.status === 401) show(false);
  return body;
}

async function act(kind, id, a) {
  const path = kind === "machine"
    ? "/ui/api/machines/" + encodeURIComponent(id) + "/" + a
    : "/ui/api/pdus/" + id.split("/").map(encodeURIComponent).join("/outlets/") + "/" + a;
  notice((a === "cycle" ? "Power-cycling " : "Switching ") + id + (a === "cycle" ? "" : " " + a) + "…");
  refresh();
  try {
    const body = await post(path);
    notice(body.ok ? body.message : body.error, !body.ok);
  } catch (e) {
    notice("The request did not get through: " + e.message, true);
  }
  refresh();
}

async function login(ev) {
  ev.preventDefault();
  $("login-error").textContent = "";
  try {
    const r = await fetch("/ui/login", { method: "POST", credentials: "same-origin", body: new URLSearchParams(new FormData($("login-form"))) });
    const body = await r.json();
    if (!body.ok) { $("login-error").textContent = body.error; return; }
    $("password").value = "";
    notice("");
    refresh();
  } catch (e) {
    $("login-error").textContent = "The sign-in did not get through: " + e.message;
  }
}

async function logout() {
  await post("/ui/logout");
  state = null;
  show(false);
}

$("login-form").addEventListener("submit", login);
$("logout").addEventListener("click", logout);
refresh();
