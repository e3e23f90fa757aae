"use strict";
// The council's impact panel: every signal of a scope against its thresholds in one Doughnut
// picture (shortfall / safe / overshoot), trends, alerts; every number opens its explanation.
const {el, getJSON, number, unitText, value, band, BANDS, when, duration, explain, thresholdText} = EIL;
const SVG = "http://www.w3.org/2000/svg";
const C = 230, HOLE = 38, R1 = 105, R2 = 160, RMAX = 196;  // doughnut geometry (viewBox 460)
let SITES = [];  // the sites of the scope shown
let RULE = null;  // how alerts go on and off (the gateway's ALERT_RULE)

// ALERT, and when the value is already back inside, why the alert is still on
function alertBadge(e) {
  if (!e.alert) return null;
  const clearing = e.band === "safe" && RULE;
  return [el("span", {class: "alert", title: clearing ? EIL.alertRuleText(RULE) : "past its threshold for a while"}, "ALERT"),
          clearing ? el("div", {class: "meta", "data-role": "alert-rule"}, EIL.alertRuleText(RULE)) : null];
}

function svg(tag, attrs = {}, ...children) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

// Where a value sits: inside the hole side of the ring = shortfall, in the ring = safe,
// beyond it = overshoot; how far past a threshold is scaled by the threshold itself.
function radius(v, th) {
  const lo = th.lower ?? null, hi = th.upper ?? null, clamp = x => Math.max(0, Math.min(1, x));
  if (lo !== null && v < lo) return HOLE + (R1 - HOLE) * clamp(lo > 0 ? v / lo : 1 - (lo - v) / (Math.abs(lo) || 1));
  if (hi !== null && v > hi) return R2 + (RMAX - R2) * clamp((v - hi) / (Math.abs(hi) || 1));
  if (lo !== null && hi !== null) return R1 + (R2 - R1) * clamp((v - lo) / ((hi - lo) || 1));
  if (hi !== null) return R1 + (R2 - R1) * clamp(hi > 0 ? v / hi : 1);
  return R1 + (R2 - R1) * clamp((v - lo) / (Math.abs(lo) || 1));
}

function arc(r0, r1, a0, a1) {
  const p = (r, a) => `${(C + r * Math.sin(a)).toFixed(1)} ${(C - r * Math.cos(a)).toFixed(1)}`;
  const large = a1 - a0 > Math.PI ? 1 : 0;
  return `M ${p(r0, a0)} L ${p(r1, a0)} A ${r1} ${r1} 0 ${large} 1 ${p(r1, a1)} L ${p(r0, a1)} A ${r0} ${r0} 0 ${large} 0 ${p(r0, a0)} Z`;
}

function patterns() {
  return svg("defs", {},
    svg("pattern", {id: "p-overshoot", width: 6, height: 6, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)"},
      svg("rect", {width: 6, height: 6, fill: "var(--overshoot)"}), svg("line", {x1: 0, y1: 0, x2: 0, y2: 6, stroke: "#fff", "stroke-width": 2})),
    svg("pattern", {id: "p-shortfall", width: 6, height: 6, patternUnits: "userSpaceOnUse"},
      svg("rect", {width: 6, height: 6, fill: "var(--shortfall)"}), svg("circle", {cx: 3, cy: 3, r: 1.3, fill: "#fff"})),
    svg("pattern", {id: "p-safe", width: 6, height: 6, patternUnits: "userSpaceOnUse"},
      svg("rect", {width: 6, height: 6, fill: "var(--safe)"})));
}

function open(entry) {
  if (entry.sites !== undefined) return explainRollup(entry);
  return explain(entry.worst ?? entry.id, entry.t);
}

function doughnut(entries) {
  const g = document.getElementById("doughnut");
  const judged = entries.filter(e => e.threshold && e.value !== null);
  g.replaceChildren(patterns(),
    svg("circle", {cx: C, cy: C, r: (R1 + R2) / 2, fill: "none", stroke: "var(--safe)", "stroke-opacity": .18, "stroke-width": R2 - R1}),
    svg("circle", {cx: C, cy: C, r: R1, fill: "none", stroke: "var(--safe)", "stroke-width": 1.5}),
    svg("circle", {cx: C, cy: C, r: R2, fill: "none", stroke: "var(--safe)", "stroke-width": 1.5}),
    svg("text", {x: C, y: C + 4, "text-anchor": "middle"}, `${judged.length} ${judged.length === 1 ? "signal" : "signals"}`));
  const n = Math.max(judged.length, 1), step = 2 * Math.PI / n, gap = Math.min(0.04, step * 0.1);
  judged.forEach((e, i) => {
    const a0 = i * step + gap, a1 = (i + 1) * step - gap, r = radius(e.value, e.threshold);
    const k = BANDS[e.band] ? e.band : "none";
    const wedge = svg("path", {d: arc(HOLE, r, a0, a1), fill: k === "none" ? "var(--none)" : `url(#p-${k})`,
      stroke: "#fff", "stroke-width": 1, tabindex: 0, role: "button", "data-id": e.id, cursor: "pointer"},
      svg("title", {}, `${e.title} (${e.scope}): ${value(e.value, e.unit)}, ${BANDS[k].word}`));
    wedge.addEventListener("click", () => open(e));
    wedge.addEventListener("keydown", ev => { if (ev.key === "Enter" || ev.key === " ") open(e); });
    const mid = (a0 + a1) / 2, lr = RMAX + 14;
    g.append(wedge, svg("text", {x: C + lr * Math.sin(mid), y: C - lr * Math.cos(mid) + 4, "text-anchor": "middle"},
      `${entries.indexOf(e) + 1}${BANDS[k].symbol}`));
  });
}

function legend() {
  const swatch = k => svg("svg", {width: 18, height: 18, "aria-hidden": "true"}, patterns(),
    svg("rect", {width: 18, height: 18, fill: k === "none" ? "var(--none)" : `url(#p-${k})`}));
  document.getElementById("legend").replaceChildren(...Object.entries(BANDS).map(([k, b]) =>
    el("span", {}, swatch(k), ` ${b.symbol} ${b.word}: ${b.text}`)));
}

function sparkline(points) {
  if (!points || points.length < 2) return el("span", {class: "meta"}, "–");
  const vs = points.map(p => p[1]), lo = Math.min(...vs), hi = Math.max(...vs);
  const t0 = points[0][0], t1 = points[points.length - 1][0];
  const xy = points.map(([t, v]) => `${(2 + 116 * (t - t0) / ((t1 - t0) || 1)).toFixed(1)},${(26 - 24 * (v - lo) / ((hi - lo) || 1)).toFixed(1)}`);
  return svg("svg", {class: "spark", viewBox: "0 0 120 28", role: "img", "aria-label": `from ${number(vs[0])} to ${number(vs[vs.length - 1])}`},
    svg("polyline", {points: xy.join(" "), fill: "none", stroke: "#1d232b", "stroke-width": 1.5}));
}

function scopeCell(e) {
  if (!e.group && !e.sites) return e.scope;
  if (!e.group) {  // a roll-up: every site's contribution, and who sent nothing
    return el("div", {}, `${Object.keys(e.sites).length} of ${SITES.length} sites`,
      el("ul", {class: "sites"}, ...Object.entries(e.sites).map(([s, v]) =>
        el("li", {"data-site": s}, `${s}: `, value(v, e.unit))),
        ...e.missing.map(s => el("li", {"data-site": s, class: "meta"}, `${s}: no value`))));
  }
  const c = e.counts;
  return el("details", {}, el("summary", {}, `${e.members.length} × — ${c.overshoot}▲ ${c.safe}● ${c.shortfall}▼ ${c.none}–`),
    el("ul", {}, e.members.map(m => el("li", {}, el("button", {class: "link", onclick: () => explain(m.id, m.t)},
      `${m.scope}: ${value(m.value, m.unit)}`), " ", band(m.band)))));
}

function row(e, i) {
  const th = e.threshold;
  const td = (label, attrs, ...children) => el("td", {"data-label": label, ...attrs}, el("div", {}, ...children));
  return el("tr", {"data-id": e.id},
    td("", {class: "signal"}, `${i + 1}. `, el("button", {class: "link", onclick: () => open(e)}, e.title),
      alertBadge(e), e.note ? el("div", {class: "meta"}, e.note) : null),
    td("scope", {}, scopeCell(e)),
    td("value", {class: "num"}, el("button", {class: "link", "data-role": "value", onclick: () => open(e)}, value(e.value, e.unit))),
    td("band", {}, band(e.band)),
    td("threshold", {}, th ? [thresholdText(th, e.unit), el("div", {class: "meta"}, th.source ?? "")] : "–"),
    td("trend", {}, sparkline(e.history)),
    td("time to threshold", {}, e.time_to_threshold_s !== null && e.time_to_threshold_s !== undefined ? `about ${duration(e.time_to_threshold_s)}` : "–"));
}

function explainRollup(e) {
  let d = document.getElementById("explain");
  if (!d) { d = el("dialog", {id: "explain"}); document.body.append(d); }
  const th = e.threshold;
  d.replaceChildren(el("h2", {}, `${e.title} — ${e.scope}`),
    el("p", {}, el("strong", {"data-role": "value"}, value(e.value, e.unit)), " ", band(e.band)),
    el("h3", {}, "Formula"), el("pre", {}, e.signal === "energy.self_sufficiency"
      ? "1 − Σ imported energy / Σ load energy over the sites" : "Σ of the sites' own site totals"),
    el("h3", {}, "Inputs"), el("table", {}, el("tbody", {}, Object.entries(e.sites).map(([s, v]) =>
      el("tr", {}, el("td", {}, s), el("td", {class: "num"}, value(v, e.unit)),
        el("td", {class: "meta"}, e.sites_t && e.sites_t[s] ? `computed ${when(e.sites_t[s])}` : ""))),
      e.missing.map(s => el("tr", {}, el("td", {}, s), el("td", {class: "num"}, "no value"))))),
    el("h3", {}, "Threshold"), el("p", {}, th ? `${thresholdText(th, e.unit)} — source: ${th.source}` : "none set for this scope"),
    el("p", {}, el("button", {class: "close", onclick: () => d.close()}, "Close")));
  if (!d.open) d.showModal();
}

async function load() {
  const scope = new URLSearchParams(location.search).get("scope") ?? "site";
  let p;
  try { p = await getJSON(`/api/v1/panel?scope=${encodeURIComponent(scope)}`); }
  catch (e) { document.getElementById("when").replaceChildren(el("span", {class: "error"}, e.message)); return; }
  SITES = p.sites;
  RULE = p.alert_rule ?? null;
  document.getElementById("title").textContent = `Impact panel — ${p.title}`;
  document.title = `Impact panel — ${p.title}`;
  const sel = document.getElementById("scope");
  sel.replaceChildren(...p.scopes.map(s => el("option", {value: s.id, selected: s.id === p.scope}, `${s.title} (${s.level})`)));
  sel.onchange = () => location.assign(`/panel?scope=${encodeURIComponent(sel.value)}`);
  for (const f of ["csv", "json"]) document.getElementById(f).href = `/api/v1/panel/export?scope=${encodeURIComponent(p.scope)}&format=${f}`;
  document.getElementById("print").onclick = () => window.print();
  document.getElementById("when").textContent = `${p.level === "site" ? "" : `Sites: ${p.sites.join(", ")}. `}Signals computed ${when(p.computed_ms)}.`;
  legend();
  doughnut(p.signals);
  // every signal in alert, a grouped one by each of its members in alert (not only its worst)
  const alerts = p.signals.flatMap(e => e.group ? e.members.filter(m => m.alert).map(m => ({...m, title: e.title}))
    : e.alert ? [e] : []);
  // each alert's state as the gateway's alerts keep it: acknowledged, and by whom
  const states = Object.fromEntries((await getJSON("/api/v1/alerts").catch(() => [])).map(a => [a.id, a]));
  const state = e => {
    const a = states[`signal/${e.id}`];
    if (!a) return null;
    return el("span", {class: "meta", "data-role": "alert-state"}, a.state === "acknowledged"
      ? ` — acknowledged${a.ack_by ? ` by ${a.ack_by}` : ""}` : ` — firing since ${when(a.since_ms)}, not yet acknowledged`);
  };
  document.getElementById("alerts").replaceChildren(el("h2", {}, "Alerts"), alerts.length
    ? el("ul", {}, alerts.map(e => el("li", {}, el("span", {class: "alert"}, "ALERT"), " ", e.title, ` (${e.id.split("@")[1]}): `, value(e.value, e.unit), " ", band(e.band),
        e.band === "safe" && RULE ? el("span", {class: "meta"}, ` — ${EIL.alertRuleText(RULE)}`) : null, state(e))))
    : el("p", {}, "No signal is in alert."),
    el("p", {}, el("a", {href: "/alerts"}, "All alerts, and who is told")));
  const explainId = new URLSearchParams(location.search).get("explain");
  if (explainId && !load.opened) { load.opened = true; EIL.explain(explainId); }  // a message's link
  document.querySelector("#signals tbody").replaceChildren(...p.signals.map(row));
}
load();
