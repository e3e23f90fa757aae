"use strict";
// The latest value of every quantity of every node (/api/v1/nodes + /api/v1/latest).
const {el, getJSON, ago, number, unitText, updated, when, breakable} = EIL;

// value and unit as the other views write them (°C, not the wire's SenML "Cel")
function shown(row) {
  if (row.kind === "event") return row.text ?? "";
  const u = row.unit === "/" ? "" : unitText(row.unit);
  return `${number(row.value, row.unit === "/" ? null : row.unit)}${u ? " " + u : ""}`;
}

async function refresh() {
  const main = document.getElementById("nodes");
  try {
    const [nodes, latest] = await Promise.all([getJSON("/api/v1/nodes"), getJSON("/api/v1/latest")]);
    main.replaceChildren();
    for (const n of nodes) {
      const state = n.online ? "online" : "offline";
      const rows = latest.filter(r => r.site === n.site && r.node === n.node);
      main.append(el("article", {class: "card node", "data-node": n.node},
        el("header", {}, el("h2", {class: "ident"}, n.node), el("span", {class: `badge ${state}`}, state)),
        el("p", {class: "meta"}, `${n.site} · last seen ${ago(n.last_seen_ms)} · ${n.readings.toLocaleString("en")} readings stored`),
        el("table", {class: "readings"}, el("thead", {}, el("tr", {}, el("th", {}, "quantity"),
          el("th", {class: "num"}, "value"), el("th", {}, "measured"))),
          el("tbody", {}, rows.map(r => el("tr", {"data-quantity": r.name},
            el("td", {class: "ident"}, breakable(r.name)),
            el("td", {class: "num", "data-role": "value", "data-unit": r.unit ?? ""}, shown(r)),
            el("td", {class: "when", title: when(r.time_ms)}, ago(r.time_ms))))))));
    }
    if (!nodes.length) main.append(el("p", {}, "No node has reported yet."));
    main.setAttribute("aria-busy", "false");
    document.getElementById("updated").textContent = updated();
  } catch (e) {
    document.getElementById("updated").textContent = `Update failed: ${e.message}`;
  }
}
refresh();
setInterval(refresh, 5000);
