"use strict";
// Renders /api/v1/nodes + /api/v1/latest + /api/v1/dead-letters; no framework, no network beyond the gateway.

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function ago(seconds) {
  if (seconds == null) return "never";
  const s = Math.max(0, Date.now() / 1000 - seconds);
  if (s < 90) return `${Math.round(s)} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}

function fmt(row) {
  if (row.kind === "event") return row.ref ? `${row.text} (${row.ref})` : row.text;
  const v = Math.abs(row.value) >= 100 ? row.value.toFixed(0) : row.value.toPrecision(3);
  return v;
}

async function getJSON(path) {
  const r = await fetch(path);
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return r.json();
}

async function refresh() {
  const main = document.getElementById("nodes");
  try {
    const [nodes, latest, dead] = await Promise.all([
      getJSON("/api/v1/nodes"), getJSON("/api/v1/latest"), getJSON("/api/v1/dead-letters?limit=20")]);
    main.replaceChildren();
    for (const n of nodes) {
      const state = n.online ? "online" : "offline";
      const rows = latest.filter(r => r.site === n.site && r.node === n.node);
      const tbody = el("tbody");
      for (const r of rows) {
        tbody.append(el("tr", {"data-quantity": r.name},
          el("td", {}, r.name), el("td", {class: "num"}, fmt(r)), el("td", {class: "unit"}, r.unit ?? ""),
          el("td", {class: "when", title: new Date(r.time_ms).toISOString()},
            new Date(r.time_ms).toISOString().slice(5, 16).replace("T", " "))));
      }
      main.append(el("article", {class: "node", "data-node": n.node},
        el("header", {}, el("h2", {}, `${n.site} / ${n.node}`),
          el("span", {class: `badge ${state}`}, state)),
        el("p", {class: "meta"}, `last seen ${ago(n.last_seen)} · ${n.readings} readings stored · acked seq ${n.acked}` +
          (n.outbox != null ? ` · outbox ${n.outbox}` : "") + (n.dead_letters ? ` · ${n.dead_letters} dead letters` : "")),
        el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "quantity"), el("th", {}, "value"),
          el("th", {}, "unit"), el("th", {}, "time (UTC)"))), tbody)));
    }
    if (!nodes.length) main.append(el("p", {}, "No node has reported yet."));
    const dt = document.querySelector("#dead tbody");
    dt.replaceChildren(...dead.map(d => el("tr", {}, el("td", {}, ago(d.last_at)),
      el("td", {}, d.node ?? "?"), el("td", {class: "num"}, d.count), el("td", {}, d.reason))));
    if (!dead.length) dt.append(el("tr", {}, el("td", {colspan: 4}, "None.")));
    main.setAttribute("aria-busy", "false");
    document.getElementById("updated").textContent = `Updated ${new Date().toLocaleTimeString()}.`;
  } catch (err) {
    document.getElementById("updated").textContent = `Could not refresh: ${err.message}`;
  }
}

refresh();
setInterval(refresh, 5000);
