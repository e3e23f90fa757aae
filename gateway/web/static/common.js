"use strict";
// Shared by every view: DOM helper, API access, number and band formatting, the navigation,
// the explanation dialog and time-series charts (uPlot, shipped with the gateway).

const EIL = (() => {
  function el(tag, attrs = {}, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "onclick") e.addEventListener("click", v);
      else if (v !== null && v !== undefined && v !== false) e.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  // The site's clock: ages ("3 min ago") and "now" are judged on it, not on the browser's,
  // because the site may run on a simulated timeline (the demo) and readings carry site times.
  let clock = {now_ms: Date.now(), speed: 1, at: Date.now(), timezone: undefined};
  const clockReady = fetch("/api/v1/clock", {credentials: "same-origin"})
    .then(r => r.ok ? r.json() : null)
    .then(c => { if (c) clock = {...c, at: Date.now()}; })
    .catch(() => { /* an older gateway: the browser's clock */ });
  function siteNow() { return clock.now_ms + (Date.now() - clock.at) * clock.speed; }

  async function getJSON(path) {
    await clockReady;  // every view reads the API first, so its ages use the site's clock
    const r = await fetch(path, {credentials: "same-origin"});
    if (r.status === 401 || r.status === 403) {
      location.assign(`/signin?why=expired&next=${encodeURIComponent(location.pathname + location.search)}`);
      throw new Error("sign-in needed");
    }
    if (!r.ok) {
      let detail = `HTTP ${r.status}`;
      try { detail = (await r.json()).detail ?? detail; } catch (e) { /* not JSON */ }
      throw new Error(`${path}: ${typeof detail === "string" ? detail : JSON.stringify(detail)}`);
    }
    return r.json();
  }

  const UNITS = {"Cel": "°C", "%RH": "% RH", "m/s": "m/s", "W/m2": "W/m²", "l/h": "l/h",
                 "S/m": "S/m", "/": "", "count": "", "kg/m3": "kg/m³", "m3": "m³",
                 "members/tool": "members per tool", "loans/tool": "loans per tool"};

  // A ratio (unit "/") reads better as a percentage in a meeting room.
  function number(v, unit) {
    if (v === null || v === undefined) return "–";
    if (unit === "/") v *= 100;
    const a = Math.abs(v);
    const s = a >= 1000 ? Math.round(v).toLocaleString("en") : a >= 100 ? v.toFixed(0)
      : a >= 10 ? v.toFixed(1) : v.toFixed(2);
    return s;
  }
  function unitText(unit) { return unit === "/" ? "%" : (UNITS[unit] ?? unit ?? ""); }
  function value(v, unit) {
    const u = unitText(unit);
    return v === null || v === undefined ? "no value" : `${number(v, unit)}${u ? " " + u : ""}`;
  }

  const BANDS = {
    shortfall: {symbol: "▼", word: "shortfall", text: "below its lower threshold"},
    safe: {symbol: "●", word: "safe", text: "inside its thresholds"},
    overshoot: {symbol: "▲", word: "overshoot", text: "above its upper threshold"},
    none: {symbol: "–", word: "no threshold", text: "no threshold, or no value"},
  };
  function band(b) {
    const k = BANDS[b] ? b : "none";
    return el("span", {class: `band ${k}`, title: BANDS[k].text}, `${BANDS[k].symbol} ${BANDS[k].word}`);
  }

  // times are written in the site's time zone (the gateway's thresholds.toml), not the
  // browser's: a steward abroad reads the garden's own hours
  function local(ms, opts) {
    try { return new Date(ms).toLocaleString("en-GB", {...opts, timeZone: clock.timezone}); }
    catch (e) { return new Date(ms).toLocaleString("en-GB", opts); }  // an unknown zone name
  }
  function when(ms) {
    if (ms === null || ms === undefined) return "never";
    return local(ms, {dateStyle: "medium", timeStyle: "short"});
  }
  function updated() { return `Updated ${when(siteNow())}.`; }
  function plural(n, one, many = `${one}s`) { return `${n} ${n === 1 ? one : many}`; }
  function ago(ms) {
    if (ms === null || ms === undefined) return "never";
    const s = Math.max(0, (siteNow() - ms) / 1000);
    if (s < 90) return `${Math.round(s)} s ago`;
    if (s < 5400) return `${Math.round(s / 60)} min ago`;
    if (s < 172800) return `${Math.round(s / 3600)} h ago`;
    return `${Math.round(s / 86400)} days ago`;
  }
  function duration(s) {
    if (s === null || s === undefined) return "–";
    if (s < 3600) return `${Math.round(s / 60)} min`;
    if (s < 172800) return `${Math.round(s / 3600)} h`;
    return `${Math.round(s / 86400)} days`;
  }

  const LINKS = [["/garden", "Garden"], ["/panel", "Impact panel"], ["/library", "Tool library"],
                 ["/loans", "Loans"], ["/fleet", "Fleet"], ["/alerts", "Alerts"], ["/readings", "Readings"]];
  async function nav() {
    const n = document.getElementById("nav");
    if (!n) return;
    n.replaceChildren(el("a", {href: "/", class: "brand"}, "EIL"),
      ...LINKS.map(([href, text]) => el("a", {href, "aria-current": location.pathname === href ? "page" : null}, text)));
    const r = await fetch("/api/v1/session", {credentials: "same-origin"});
    if (r.ok) {
      const who = await r.json();
      n.append(el("span", {class: "who"}, `${who.name} (${who.role}) `,
        el("button", {class: "link", onclick: async () => {
          await fetch("/api/v1/session", {method: "DELETE", credentials: "same-origin"});
          location.assign("/");
        }}, "sign out")));
    } else {
      n.append(el("a", {class: "who", href: `/signin?next=${encodeURIComponent(location.pathname)}`}, "sign in"));
    }
  }

  function dialog() {
    let d = document.getElementById("explain");
    if (!d) {
      d = el("dialog", {id: "explain", "aria-labelledby": "explain-title"});
      document.body.append(d);
    }
    return d;
  }

  function thresholdText(th, unit) {
    if (!th) return "no threshold";
    const parts = [];
    if (th.lower !== null && th.lower !== undefined) parts.push(`at least ${value(th.lower, unit)}`);
    if (th.upper !== null && th.upper !== undefined) parts.push(`at most ${value(th.upper, unit)}`);
    return parts.join(", ");
  }

  // Every number a person sees can be explained: formula, inputs and their quality, the
  // numbers used, the threshold with its source, who set it and why.
  // `at`: the time of the run whose number was clicked (its `t`), so a newer run in between
  // does not change what is explained.
  async function explain(id, at) {
    const d = dialog();
    d.replaceChildren(el("p", {}, "Working it out…"));
    if (!d.open) d.showModal();
    let x;
    const run = at === undefined || at === null ? "" : `?at=${at}`;
    try { x = await getJSON(`/api/v1/signals/${encodeURIComponent(id)}/explain${run}`); }
    catch (e) { d.replaceChildren(el("p", {class: "error"}, e.message), closeButton(d)); return; }
    const th = x.threshold;
    const offDelay = x.alert && x.band === "safe" && x.alert_rule ? el("p", {class: "notice", "data-role": "alert-rule"},
      alertRuleText(x.alert_rule)) : null;
    // replaceChildren would print an absent part (null) as the text "null": leave those out
    d.replaceChildren(...[
      el("h2", {id: "explain-title"}, `${x.title}`),
      el("p", {class: "meta"}, `${x.id} · as of ${when(x.t)}`),
      el("p", {}, el("strong", {"data-role": "value"}, value(x.value, x.unit)), " ", band(x.band),
        x.alert ? el("span", {class: "alert"}, "ALERT") : null),
      x.published && value(x.published_value, x.unit) !== value(x.value, x.unit)
        ? el("p", {class: "notice", "data-role": "late"}, `Published as ${value(x.published_value, x.unit)}: ` +
          "readings for that time arrived after it was computed (a node catching up), and are included here.")
        : null,
      offDelay,
      x.note ? el("p", {class: "notice"}, x.note) : null,
      el("h3", {}, "Formula"), el("pre", {}, x.formula),
      el("h3", {}, "Inputs and their quality"),
      el("table", {class: "cards"}, el("thead", {}, el("tr", {}, el("th", {}, "series"), el("th", {}, "quality"),
          el("th", {class: "num"}, "readings"), el("th", {class: "num"}, "suspect"),
          el("th", {class: "num"}, "failed"), el("th", {}, "stored sequence numbers"))),
        el("tbody", {}, x.inputs.map(i => el("tr", {}, el("td", {class: "ident"}, breakable(i.series)), el("td", {"data-label": "quality"}, i.quality),
          el("td", {class: "num", "data-label": "readings"}, i.readings), el("td", {class: "num", "data-label": "suspect"}, i.suspect),
          el("td", {class: "num", "data-label": "failed"}, i.failed),
          el("td", {"data-label": "sequence numbers"}, i.first_seq === null ? "–" : `${i.first_seq} … ${i.last_seq}`))))),
      el("h3", {}, "Numbers"),
      el("table", {"data-role": "numbers"}, el("tbody", {}, Object.entries(x.numbers).map(([k, v]) =>
        el("tr", {}, el("td", {class: "ident"}, breakable(k)),
          el("td", {class: "num"}, typeof v === "number" ? +v.toPrecision(5) : v))))),
      el("h3", {}, "Threshold"),
      th ? el("dl", {class: "facts", "data-role": "threshold"},
        el("dt", {}, "limit"), el("dd", {}, thresholdText(th, x.unit)),
        el("dt", {}, "source"), el("dd", {}, th.source ?? "–"),
        el("dt", {}, "why"), el("dd", {}, th.rationale ?? "–"),
        el("dt", {}, "set by"), el("dd", {}, `${th.set_by ?? "–"}${th.set_at ? ", " + th.set_at : ""}`),
        th.reason ? [el("dt", {}, "override reason"), el("dd", {}, th.reason)] : null,
        th.replaces ? [el("dt", {}, "replaces"), el("dd", {},
          `${thresholdText(th.replaces, x.unit)} (${th.replaces.source})`)] : null)
        : el("p", {}, "This signal has no threshold: it is reported, not judged."),
      x.trend ? el("section", {}, el("h3", {}, "Trend"), el("p", {},
        `${number(x.trend.slope_per_s * 86400, x.unit)} ${unitText(x.unit)} per day (R² ${x.trend.r2.toFixed(2)})` +
        (x.trend.time_to_threshold_s !== null ? `; reaches its threshold in about ${duration(x.trend.time_to_threshold_s)}` : ""))) : null,
      closeButton(d)].filter(part => part !== null && part !== undefined));
    d.querySelector("button.close").focus();
  }
  // A series or quantity name that may wrap only after its "/", "." and "_" separators.
  function breakable(name) { return name.replace(/([/._])/g, "$1\u200b"); }

  // An alert still on while the value is back inside: it clears only after staying inside by a
  // margin for a while, so a value wavering at a threshold does not make it flap.
  function alertRuleText(rule) {
    return `Back inside its threshold: the alert stays on until the value has been inside by a ` +
      `${Math.round(rule.hysteresis * 100)} % margin for ${duration(rule.off_delay_s)} (so it does not flap).`;
  }
  function closeButton(d) {
    return el("p", {}, el("button", {class: "close", onclick: () => d.close()}, "Close"));
  }

  // Time ticks the way the rest of the pages write dates (en-GB: "22 Nov", "14:00"), not
  // uPlot's default US style ("11/22").
  function timeTicks(u, splits) {
    const span = splits.length > 1 ? splits[splits.length - 1] - splits[0] : 0;
    const opts = span > 2 * 86400 ? {day: "numeric", month: "short"}
      : span > 86400 / 2 ? {day: "numeric", month: "short", hour: "2-digit", minute: "2-digit"}
      : {hour: "2-digit", minute: "2-digit"};
    return splits.map(s => local(s * 1000, opts));
  }

  // A time series with labelled horizontal reference lines (bands): the label is drawn on the
  // line, so the meaning never rests on colour alone.
  function lineChart(target, {t, v, label, unit, lines = [], height = 220}) {
    const width = Math.max(260, target.clientWidth || 320);
    const drawLines = u => {
      const ctx = u.ctx;
      ctx.save();
      ctx.font = `${Math.round(11 * devicePixelRatio)}px system-ui, sans-serif`;
      ctx.textAlign = "left"; ctx.textBaseline = "bottom";  // uPlot leaves its axes' alignment
      for (const line of lines) {
        const y = u.valToPos(line.value, "y", true);
        ctx.strokeStyle = line.color; ctx.fillStyle = line.color;
        ctx.lineWidth = 1.5 * devicePixelRatio;
        ctx.setLineDash(line.dash.map(x => x * devicePixelRatio));
        ctx.beginPath(); ctx.moveTo(u.bbox.left, y); ctx.lineTo(u.bbox.left + u.bbox.width, y); ctx.stroke();
        ctx.fillText(line.label, u.bbox.left + 4 * devicePixelRatio, y - 4 * devicePixelRatio);
      }
      ctx.restore();
    };
    const all = v.filter(x => x !== null).concat(lines.map(l => l.value));
    const lo = Math.min(...all), hi = Math.max(...all), pad = (hi - lo) * 0.08 || 1;
    return new uPlot({
      width, height, legend: {show: false},
      scales: {x: {time: true}, y: {range: [lo - pad, hi + pad]}},
      axes: [{space: 90, values: timeTicks}, {label: `${label} (${unitText(unit)})`, size: 55}],
      series: [{}, {label, stroke: "#1d232b", width: 2}],
      hooks: {draw: [drawLines]},
    }, [t.map(x => x / 1000), v], target);
  }

  return {el, getJSON, number, unitText, value, band, BANDS, when, ago, duration, nav, explain,
          thresholdText, lineChart, siteNow, updated, plural, alertRuleText, breakable};
})();

document.addEventListener("DOMContentLoaded", () => { EIL.nav(); });
