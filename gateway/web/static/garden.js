"use strict";
// The gardener's view: per bed "water now?" with litres, soil moisture over 14 days against its
// bands, soil temperature against the crop's sowing minimum, frost, last wetting.
const {el, getJSON, value, band, ago, explain, lineChart} = EIL;
let ALERTS = {};  // alert id -> its state (the gateway's alerts)

// the bed's alert, if its soil-water deficit fired one: whether anybody has taken it on
function alertState(b) {
  const a = ALERTS[`signal/${b.signal}`];
  if (!a) return null;
  return [el("dt", {}, "alert"), el("dd", {"data-role": "alert-state"}, el("span", {class: a.state === "acknowledged" ? "badge" : "alert"},
    a.state === "acknowledged" ? "ACKNOWLEDGED" : "ALERT"), ` since ${ago(a.since_ms)}`,
    a.state === "acknowledged" && a.ack_by ? ` — taken on by ${a.ack_by}` : a.state === "acknowledged" ? " — taken on" : " — not yet taken on")];
}

function decision(b) {
  if (b.water_now === null) {
    return el("p", {class: "decision unknown", "data-role": "decision"}, "No decision: ", b.note ?? "no value");
  }
  if (b.water_now) {
    return el("p", {class: "decision water", "data-role": "decision"},
      "💧 Water now: ", el("span", {"data-role": "litres"}, value(b.litres, "l")));
  }
  return el("p", {class: "decision nowater", "data-role": "decision"}, "✓ No water needed today");
}

function temperature(t) {
  if (!t) return "no soil temperature sensor";
  if (t.mean_24h === null) return t.note ?? "no value";
  const ok = t.band !== "shortfall";
  return el("span", {}, `${value(t.mean_24h, "Cel")} (24 h mean); sowing minimum ${value(t.minimum, "Cel")} `,
    el("span", {class: `band ${ok ? "safe" : "shortfall"}`}, ok ? "● warm enough to sow" : "▼ too cold to sow"));
}

function siteCard(g) {
  const cards = [];
  const f = g.frost;
  if (f) {
    const frost = f.band === "shortfall" || f.alert;
    cards.push(el("article", {class: "card", "data-role": "frost"},
      el("h2", {}, "Frost"),
      el("p", {class: `decision ${frost ? "water" : "nowater"}`},
        f.value === null ? "No frost reading" : frost ? "❄ Frost risk: protect tender plants" : "✓ No frost risk"),
      el("p", {}, `Lowest air temperature in the last 12 h: `,
        el("button", {class: "link", onclick: () => explain(f.id, f.t)}, value(f.value, f.unit)), " ", band(f.band))));
  }
  if (g.et0) {
    cards.push(el("article", {class: "card", "data-role": "et0"}, el("h2", {}, "Evaporation today"),
      el("p", {}, "Reference evapotranspiration ET₀: ",
        el("button", {class: "link", onclick: () => explain(g.et0.id, g.et0.t)}, value(g.et0.value, g.et0.unit)),
        g.et0.note ? el("span", {class: "meta"}, ` (${g.et0.note})`) : null)));
  }
  return cards;
}

async function bedCard(b) {
  const m = b.moisture;
  const chart = el("div", {class: "chart", "aria-label": `soil moisture of ${b.name} over 14 days`});
  const card = el("article", {class: "card bed", "data-bed": b.scope},
    el("header", {}, el("h2", {}, b.name), el("span", {class: "meta"}, `${b.crop} · ${b.soil.replace("_", " ")} · ${b.area_m2} m²`)),
    decision(b),
    el("dl", {class: "facts"},
      el("dt", {}, "root zone"), el("dd", {}, el("button", {class: "link", "data-role": "depletion", onclick: () => explain(b.signal, b.t)},
        b.depletion === null ? "no value" : `${Math.round(b.depletion * 100)} % of the readily available water used`), " ", band(b.band)),
      el("dt", {}, "soil moisture"), el("dd", {"data-role": "moisture"}, value(m.latest, m.unit), m.latest_ms ? el("span", {class: "meta"}, ` (${ago(m.latest_ms)})`) : null),
      el("dt", {}, "soil temperature"), el("dd", {"data-role": "temperature"}, temperature(b.temperature)),
      el("dt", {}, "last wetting"), el("dd", {"data-role": "wetting"}, b.last_wetting_ms ? `${ago(b.last_wetting_ms)} (rain or watering)` : "none in 7 days"),
      ...(alertState(b) ?? [])),
    chart,
    el("p", {class: "meta"}, "Lines: field capacity (full), water below the readily-available line, wilting point (plants can no longer draw water)."));
  try {
    const s = await getJSON(`/api/v1/series?node=${encodeURIComponent(b.node)}&name=${encodeURIComponent(b.series)}&hours=336&points=336`);
    if (s.t.length > 1) {
      lineChart(chart, {t: s.t, v: s.v, label: "soil moisture", unit: s.unit, height: 200, lines: [
        {value: m.field_capacity, label: "field capacity", color: "#0072b2", dash: [6, 4]},
        {value: m.readily_available, label: "water below this", color: "#d55e00", dash: []},
        {value: m.wilting_point, label: "wilting point", color: "#7a3b00", dash: [2, 3]}]});
    } else chart.replaceWith(el("p", {class: "meta"}, "Not enough readings for a chart yet."));
  } catch (e) { chart.replaceWith(el("p", {class: "error"}, e.message)); }
  return card;
}

async function refresh() {
  const beds = document.getElementById("beds");
  try {
    const g = await getJSON("/api/v1/garden");
    ALERTS = Object.fromEntries((await getJSON("/api/v1/alerts").catch(() => [])).map(a => [a.id, a]));
    document.getElementById("site").replaceChildren(...siteCard(g));
    beds.replaceChildren(...(g.beds.length ? [el("div", {class: "grid"}, ...await Promise.all(g.beds.map(bedCard)))]
      : [el("p", {}, "No bed reports soil moisture yet.")]));
    beds.setAttribute("aria-busy", "false");
    document.getElementById("updated").textContent = g.computed_ms ? `Signals computed ${ago(g.computed_ms)}.` : "No signals computed yet.";
  } catch (e) {
    beds.replaceChildren(el("p", {class: "error"}, e.message));
  }
}
refresh();
