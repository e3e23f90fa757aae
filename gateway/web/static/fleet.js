"use strict";
// Stewards: every node's health at a glance, trouble first.
const {el, getJSON, ago, duration, value, plural, updated, when} = EIL;

function trouble(n) {
  return (n.sequence !== "ok" || n.conflicts > 0 || n.anomalies.length > 0) * 8 + (!n.online) * 4 +
    (n.attention.length > 0) * 2 + (n.unacknowledged > 0) + (n.dead_letters > 0);
}

// One figure for the backlog: what the node holds that the gateway has not stored. The node's
// own outbox count (from its last status) also holds readings acknowledged since; say so rather
// than show "8 waiting" beside "0 not yet acknowledged".
function backlog(n) {
  if (n.unacknowledged === null) return n.outbox === null ? "–" : `${plural(n.outbox, "reading")} in the outbox (node's report)`;
  const text = n.unacknowledged === 0 ? "none: everything the node reported is stored"
    : `${plural(n.unacknowledged, "reading")} not yet stored at the gateway`;
  const since = n.outbox !== null && n.outbox > n.unacknowledged
    ? ` (the node's report ${ago(n.status_ms)} counted ${n.outbox} in its outbox; the gateway has acknowledged the rest since)` : "";
  return text + since;
}

function sequence(n) {
  const parts = [];
  if (n.sequence !== "ok") parts.push(el("div", {class: "band overshoot"}, `▲ ${n.sequence}`));
  for (const a of n.anomalies) {
    parts.push(el("div", {class: "band overshoot"}, a.kind === "floor"
      ? `▲ a pack claimed its outbox starts at ${a.claimed} while the store had ${a.watermark} (×${a.count}): not applied`
      : `▲ a pack jumped to seq ${a.claimed}, far beyond ${a.watermark} (×${a.count}): refused`));
  }
  if (n.conflicts) {
    parts.push(el("div", {class: "band overshoot"}, `▲ ${plural(n.conflicts, "sequence number")} arrived twice with different content: two devices under one identity?`));
  }
  if (parts.length) parts.push(el("div", {class: "meta"}, `inspect and repair: eil gateway sequence ${n.node} --data DIR (docs/contract.md, Sequence rules)`));
  return parts.length ? parts : el("span", {class: "band safe"}, "● in order");
}

// one version of a conflicting reading: what, how much, when the node said it was measured
function version(v) {
  const what = v.kind === "event" ? `${v.text ?? ""}${v.ref ? ` (${v.ref})` : ""}` : value(v.value, v.unit);
  return `${v.name} = ${what}, measured ${when(v.time_ms)}`;
}

function card(n) {
  const state = n.online ? "online" : ["unknown", "retired"].includes(n.state) ? n.state : "offline";
  const cal = Object.entries(n.calibrations);
  return el("article", {class: "card", "data-node": n.node},
    el("header", {}, el("h2", {class: "ident"}, n.node), el("span", {class: `badge ${state}`}, state)),
    el("dl", {class: "facts"},
      el("dt", {}, "last seen"), el("dd", {"data-role": "last-seen"}, ago(n.last_seen_ms)),
      el("dt", {}, "battery"), el("dd", {"data-role": "battery"}, n.battery ? `${value(n.battery.value, n.battery.unit)} (${n.battery.name})` : "no battery sensor"),
      el("dt", {}, "backlog"), el("dd", {"data-role": "backlog"}, backlog(n)),
      el("dt", {}, "stored"), el("dd", {}, `${plural(n.readings, "reading")}, acknowledged up to seq ${n.acked}`),
      el("dt", {}, "sequence"), el("dd", {"data-role": "sequence"}, sequence(n)),
      el("dt", {}, "dead letters"), el("dd", {"data-role": "dead"}, String(n.dead_letters)),
      el("dt", {}, "sensors"), el("dd", {"data-role": "streams"}, n.attention.length
        ? n.attention.map(k => el("div", {class: "band overshoot"}, `▲ ${k}: ${n.streams[k]}`))
        : Object.keys(n.streams).length ? el("span", {class: "band safe"}, "● all pass quality checks") : "–"),
      el("dt", {}, "calibration"), el("dd", {}, cal.length ? cal.map(([s, c]) => el("div", {}, `${s || "node"}: ${c.id}, ${plural(c.age_days, "day")} old`)) : "none recorded"),
      ...(n.mcu_gaps ? [el("dt", {}, "microcontroller"), el("dd", {"data-role": "mcu-gaps"},
        el("span", {class: "band overshoot"}, `▲ ${plural(n.mcu_gaps.readings, "reading")} lost in its buffer (${plural(n.mcu_gaps.events, "gap")}; last ${ago(n.mcu_gaps.last_ms)}: ${n.mcu_gaps.last})`))] : [])));
}

// A sink: how far behind it is, and if it is failing, why (the database's own words).
function sinkRow(s) {
  const behind = s.removed_ms !== null
    ? el("span", {}, `removed from gateway.toml ${ago(s.removed_ms)}: holds nothing back (eil gateway sink remove ${s.sink} forgets it)`)
    : s.behind === 0 ? el("span", {class: "band safe"}, "● up to date")
    : el("span", {class: s.failing ? "band overshoot" : ""}, `${plural(s.behind, "reading")}` +
      (s.behind_s !== null ? `, the oldest ${duration(s.behind_s)} old` : ""));
  const error = s.last_error === null ? "none" : `${s.failing ? "▲ failing: " : ""}${s.last_error} (${ago(s.error_at_ms)})`;
  return el("tr", {"data-sink": s.sink}, el("td", {class: "ident"}, s.sink),
    el("td", {"data-label": "behind", "data-role": "behind"}, behind),
    el("td", {"data-label": "written", class: "num"}, s.written.toLocaleString()),
    el("td", {"data-label": "refused", class: "num"}, String(s.refused)),
    el("td", {"data-label": "last success"}, s.last_ok_ms === null ? "never" : ago(s.last_ok_ms)),
    el("td", {"data-label": "last error", "data-role": "error"}, error));
}

// What fires, in the steward's words, and whether anybody is being told (the sender's beat)
function alertsBox(alerts, delivery) {
  const sender = delivery.sender === null
    ? (delivery.recipients.length ? el("p", {class: "band overshoot", "data-role": "sender"}, "▲ the notification sender has never run: nobody is told")
      : el("p", {class: "meta", "data-role": "sender"}, "Nobody to tell: no recipient in alerts.toml (docs/alerts.md)."))
    : delivery.sender.age_s > 120 ? el("p", {class: "band overshoot", "data-role": "sender"}, `▲ the notification sender has been silent for ${duration(delivery.sender.age_s)}: nobody is told`)
    : el("p", {class: "band safe", "data-role": "sender"}, "● the notification sender is running");
  const failing = delivery.channels.filter(c => c.failing_s !== null).map(c => el("p", {class: "band overshoot"},
    `▲ channel ${c.channel} of ${c.recipient} ${c.refused ? "refuses" : "fails"}: ${c.error}`));
  const list = alerts.length ? el("ul", {}, alerts.map(a => el("li", {"data-alert": a.id},
    el("span", {class: a.state === "acknowledged" ? "badge" : "alert"}, a.state === "acknowledged" ? "ACKNOWLEDGED" : a.severity.toUpperCase()),
    ` ${a.text} (since ${ago(a.since_ms)})`, a.ack_by ? el("span", {class: "meta"}, ` — taken on by ${a.ack_by}`) : null)))
    : el("p", {}, "Nothing is firing.");
  return [list, sender, ...failing, el("p", {}, el("a", {href: "/alerts"}, "Acknowledge, silence, and who hears what"))];
}

// The last good backup, or that there is none: the card may be the only copy
function backupText(b) {
  const days = s => duration(Date.now() / 1000 - s);
  if (!b.last_ok) return el("span", {class: "band overshoot"}, "▲ no backup yet: this card holds the only copy (eil gateway backup, docs/backup.md)");
  const parts = [el("span", {class: b.last && b.last.ok === false ? "band overshoot" : "band safe"},
    `${b.last && b.last.ok === false ? "▲" : "●"} last good backup ${days(b.last_ok.at)} ago, ${(b.last_ok.bytes / 1e6).toFixed(1)} MB to ${b.last_ok.target}`)];
  if (b.last && b.last.ok === false) parts.push(` — the last attempt failed: ${b.last.error}`);
  if ("drill_ok" in b) parts.push(b.drill_ok ? ` — restore drill passed ${days(b.drill_at)} ago` : ` — ▲ restore drill failed: ${b.drill_error}`);
  return parts;
}

async function refresh() {
  try {
    getJSON("/api/v1/backup").then(b => document.getElementById("backup").replaceChildren(...[backupText(b)].flat()))
      .catch(e => document.getElementById("backup").replaceChildren(e.message));
    const [nodes, dead, conflicts, sinks, alerts, delivery] = await Promise.all([getJSON("/api/v1/fleet"),
      getJSON("/api/v1/dead-letters?limit=50"), getJSON("/api/v1/conflicts?limit=50"),
      getJSON("/api/v1/sinks"), getJSON("/api/v1/alerts"), getJSON("/api/v1/alerts/delivery")]);
    document.getElementById("fleet-alerts").replaceChildren(...alertsBox(alerts, delivery));
    document.querySelector("#sinks tbody").replaceChildren(...(sinks.length ? sinks.map(sinkRow)
      : [el("tr", {}, el("td", {colspan: 6}, "No sink configured: the embedded store is the only copy."))]));
    nodes.sort((a, b) => trouble(b) - trouble(a) || a.node.localeCompare(b.node));
    const main = document.getElementById("nodes");
    main.replaceChildren(...(nodes.length ? nodes.map(card) : [el("p", {}, "No node has reported yet.")]));
    main.setAttribute("aria-busy", "false");
    const offline = nodes.filter(n => !n.online).length, attention = nodes.filter(n => n.attention.length).length;
    const sequences = nodes.filter(n => n.sequence !== "ok" || n.conflicts || n.anomalies.length).length;
    document.getElementById("summary").textContent = `${plural(nodes.length, "node")}: ${nodes.length - offline} online, ${offline} offline; ` +
      `${attention} with stale or suspect sensors; ${sequences ? `${sequences} whose sequence needs a steward; ` : ""}` +
      `${plural(dead.reduce((s, d) => s + d.count, 0), "dead letter")}.`;
    document.querySelector("#dead tbody").replaceChildren(...(dead.length ? dead.map(d => el("tr", {},
      el("td", {}, d.reason), el("td", {"data-label": "node", class: "ident"}, d.node ?? "?"),
      el("td", {"data-label": "count", class: "num"}, d.count), el("td", {"data-label": "last seen"}, ago(d.last_at_ms))))
      : [el("tr", {}, el("td", {colspan: 4}, "None."))]));
    document.querySelector("#conflicts tbody").replaceChildren(...(conflicts.length ? conflicts.map(c => el("tr", {},
      el("td", {class: "ident"}, `${c.node} #${c.seq}`),
      el("td", {"data-label": "kept"}, version(c.stored)), el("td", {"data-label": "arrived again"}, version(c.arriving)),
      el("td", {"data-label": "count", class: "num"}, c.count), el("td", {"data-label": "last seen"}, ago(c.last_at_ms))))
      : [el("tr", {}, el("td", {colspan: 5}, "None."))]));
    document.getElementById("updated").textContent = updated();
  } catch (e) {
    document.getElementById("updated").textContent = `Update failed: ${e.message}`;
  }
}
refresh();
setInterval(refresh, 10000);
