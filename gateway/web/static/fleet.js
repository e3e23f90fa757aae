"use strict";
// Stewards: every node's health at a glance, trouble first.
const {el, getJSON, ago, value} = EIL;

function trouble(n) {
  return (!n.online) * 4 + (n.attention.length > 0) * 2 + (n.unacknowledged > 0) + (n.dead_letters > 0);
}

function card(n) {
  const state = n.online ? "online" : n.state === "unknown" ? "unknown" : "offline";
  const cal = Object.entries(n.calibrations);
  return el("article", {class: "card", "data-node": n.node},
    el("header", {}, el("h2", {}, n.node), el("span", {class: `badge ${state}`}, state)),
    el("dl", {class: "facts"},
      el("dt", {}, "last seen"), el("dd", {"data-role": "last-seen"}, ago(n.last_seen === null ? null : n.last_seen * 1000)),
      el("dt", {}, "battery"), el("dd", {"data-role": "battery"}, n.battery ? `${value(n.battery.value, n.battery.unit)} (${n.battery.name})` : "no battery sensor"),
      el("dt", {}, "outbox"), el("dd", {"data-role": "outbox"}, n.outbox === null ? "–" : `${n.outbox} waiting on the node`),
      el("dt", {}, "ack lag"), el("dd", {"data-role": "ack-lag"}, n.unacknowledged === null ? "–" : `${n.unacknowledged} readings not yet acknowledged`),
      el("dt", {}, "stored"), el("dd", {}, `${n.readings} readings, acked up to seq ${n.acked}`),
      el("dt", {}, "dead letters"), el("dd", {"data-role": "dead"}, String(n.dead_letters)),
      el("dt", {}, "sensors"), el("dd", {"data-role": "streams"}, n.attention.length
        ? n.attention.map(k => el("div", {class: "band overshoot"}, `▲ ${k}: ${n.streams[k]}`))
        : Object.keys(n.streams).length ? el("span", {class: "band safe"}, "● all pass quality checks") : "–"),
      el("dt", {}, "calibration"), el("dd", {}, cal.length ? cal.map(([s, c]) => el("div", {}, `${s || "node"}: ${c.id}, ${c.age_days} days old`)) : "none recorded")));
}

async function refresh() {
  try {
    const [nodes, dead] = await Promise.all([getJSON("/api/v1/fleet"), getJSON("/api/v1/dead-letters?limit=50")]);
    nodes.sort((a, b) => trouble(b) - trouble(a) || a.node.localeCompare(b.node));
    const main = document.getElementById("nodes");
    main.replaceChildren(...(nodes.length ? nodes.map(card) : [el("p", {}, "No node has reported yet.")]));
    main.setAttribute("aria-busy", "false");
    const offline = nodes.filter(n => !n.online).length, attention = nodes.filter(n => n.attention.length).length;
    document.getElementById("summary").textContent = `${nodes.length} nodes: ${nodes.length - offline} online, ${offline} offline; ` +
      `${attention} with stale or suspect sensors; ${dead.reduce((s, d) => s + d.count, 0)} dead letters.`;
    document.querySelector("#dead tbody").replaceChildren(...(dead.length ? dead.map(d => el("tr", {},
      el("td", {}, d.reason), el("td", {"data-label": "node"}, d.node ?? "?"),
      el("td", {"data-label": "count", class: "num"}, d.count), el("td", {"data-label": "last seen"}, ago(d.last_at * 1000))))
      : [el("tr", {}, el("td", {colspan: 4}, "None."))]));
    document.getElementById("updated").textContent = `Updated ${new Date().toLocaleTimeString()}.`;
  } catch (e) {
    document.getElementById("updated").textContent = `Update failed: ${e.message}`;
  }
}
refresh();
setInterval(refresh, 10000);
