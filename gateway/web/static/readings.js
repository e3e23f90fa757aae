"use strict";
// The latest value of every quantity of every node (/api/v1/nodes + /api/v1/latest).
const {el, getJSON, ago} = EIL;

function fmt(row) {
  if (row.kind === "event") return row.text ?? "";
  return Math.abs(row.value) >= 100 ? row.value.toFixed(0) : row.value.toPrecision(3);
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
        el("header", {}, el("h2", {}, `${n.site} / ${n.node}`), el("span", {class: `badge ${state}`}, state)),
        el("p", {class: "meta"}, `last seen ${ago(n.last_seen * 1000)} · ${n.readings} readings stored`),
        el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "quantity"), el("th", {}, "value"),
          el("th", {}, "unit"), el("th", {}, "time (UTC)"))),
          el("tbody", {}, rows.map(r => el("tr", {"data-quantity": r.name},
            el("td", {}, r.name), el("td", {class: "num"}, fmt(r)), el("td", {class: "unit"}, r.unit ?? ""),
            el("td", {class: "when", title: new Date(r.time_ms).toISOString()},
              new Date(r.time_ms).toISOString().slice(5, 16).replace("T", " "))))))));
    }
    if (!nodes.length) main.append(el("p", {}, "No node has reported yet."));
    main.setAttribute("aria-busy", "false");
    document.getElementById("updated").textContent = `Updated ${new Date().toLocaleTimeString()}.`;
  } catch (e) {
    document.getElementById("updated").textContent = `Update failed: ${e.message}`;
  }
}
refresh();
setInterval(refresh, 5000);
