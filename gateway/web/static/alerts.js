"use strict";
// Alerts: what fires (public for the signals), and for a signed-in person acknowledging, their
// own settings; for a steward silences and the delivery of messages.
const {el, getJSON, when, ago, updated} = EIL;
let WHO = null;

async function post(path, body, method = "POST") {
  const r = await fetch(path, {method, credentials: "same-origin", headers: {"Content-Type": "application/json"},
    body: body === undefined ? undefined : JSON.stringify(body)});
  if (!r.ok) throw new Error((await r.json().catch(() => ({}))).detail ?? `HTTP ${r.status}`);
  return r.status === 204 ? null : r.json();
}

function alertItem(a) {
  const acked = a.state === "acknowledged";
  const badge = el("span", {class: acked ? "badge" : "alert"}, acked ? "ACKNOWLEDGED" : a.severity.toUpperCase());
  const status = el("span", {role: "status"});
  const ack = WHO && a.state === "firing" ? el("button", {onclick: async () => {
    const note = prompt("What are you doing about it? (optional)") ?? null;
    try { await post(`/api/v1/alerts/${encodeURIComponent(a.id)}/ack`, {note}); load(); }
    catch (e) { status.textContent = e.message; }
  }}, "Acknowledge") : null;
  return el("li", {"data-alert": a.id}, badge, " ", el("strong", {}, `${a.title} (${a.scope})`), ` since ${when(a.since_ms)}: `, a.text,
    acked && a.ack_by ? el("div", {class: "meta"}, `taken on by ${a.ack_by} ${ago(a.ack_ms)}${a.ack_note ? `: ${a.ack_note}` : ""}`) : null,
    a.link ? el("div", {}, el("a", {href: `/${a.link}`}, "Explain")) : null, ack, status);
}

function settingsForm(s) {
  const id = k => `${s.name}-${k}`;
  const field = (k, label, input) => [el("label", {for: id(k)}, label), input];
  const channels = el("textarea", {id: id("channels"), rows: 3, placeholder: "one URL a line (leave as shown to keep)"}, s.channels.join("\n"));
  const follow = el("input", {id: id("follow"), value: s.follow.join(" ")});
  const sev = el("select", {id: id("sev")}, ["info", "warning", "critical"].map(x => el("option", {value: x, selected: x === s.min_severity}, x)));
  const quiet = el("input", {id: id("quiet"), value: s.quiet_hours ?? "", placeholder: "22:00-07:00"});
  const tz = el("input", {id: id("tz"), value: s.timezone});
  const brk = el("input", {id: id("brk"), type: "checkbox", checked: s.critical_breaks_quiet});
  const out = el("span", {role: "status"});
  const form = el("form", {class: "settings", "data-recipient": s.name},
    el("h3", {}, s.name + (s.account ? ` (account ${s.account})` : "")),
    ...field("channels", "Channels", channels), ...field("follow", "Follow (alert id patterns, space-separated)", follow),
    ...field("sev", "At least", sev), ...field("quiet", "Quiet hours", quiet), ...field("tz", "Time zone", tz),
    el("div", {}, brk, el("label", {for: id("brk")}, " critical alerts break through quiet hours")),
    s.escalate_to ? el("p", {class: "meta"}, `Not acknowledged within ${Math.round(s.escalate_after_s / 60)} min: ${s.escalate_to} is told.`) : null,
    el("button", {}, "Save"), out);
  form.onsubmit = async ev => {
    ev.preventDefault();
    const body = {follow: follow.value.split(/\s+/).filter(Boolean), min_severity: sev.value,
                  quiet_hours: quiet.value.trim(), timezone: tz.value.trim(), critical_breaks_quiet: brk.checked};
    const urls = channels.value.split("\n").map(x => x.trim()).filter(Boolean);
    if (urls.join("\n") !== s.channels.join("\n")) body.channels = urls;
    try { await post(`/api/v1/alerts/settings/${encodeURIComponent(s.name)}`, body, "PUT"); out.textContent = "Saved."; }
    catch (e) { out.textContent = e.message; }
  };
  return form;
}

async function firingNow() {
  const list = await getJSON("/api/v1/alerts");
  const firing = document.getElementById("firing");
  firing.replaceChildren(list.length ? el("ul", {class: "alerts"}, list.map(alertItem))
    : el("p", {}, WHO ? "Nothing is firing." : "No signal is in alert. (Sign in to see the fleet's alerts too.)"));
  firing.removeAttribute("aria-busy");
  document.getElementById("updated").textContent = updated();
}

async function load() {
  const r = await fetch("/api/v1/session", {credentials: "same-origin"});
  WHO = r.ok ? await r.json() : null;
  await firingNow();
  if (!WHO) return;
  const sil = await getJSON("/api/v1/alerts/silences");
  document.getElementById("silences-s").hidden = false;
  document.getElementById("silences").replaceChildren(...(sil.length ? sil.map(s => el("li", {},
    `${s.pattern} until ${when(s.until_ms)}, by ${s.by}: ${s.reason} `,
    WHO.role === "steward" ? el("button", {onclick: async () => { await post(`/api/v1/alerts/silences/${s.id}`, undefined, "DELETE"); load(); }}, "End") : null))
    : [el("li", {}, "No silence.")]));
  const form = document.getElementById("silence");
  form.hidden = WHO.role !== "steward";
  form.onsubmit = async ev => {
    ev.preventDefault();
    try {
      await post("/api/v1/alerts/silences", {pattern: document.getElementById("s-pattern").value,
        hours: Number(document.getElementById("s-hours").value), reason: document.getElementById("s-reason").value});
      load();
    } catch (e) { document.getElementById("s-result").textContent = e.message; }
  };
  const settings = await getJSON("/api/v1/alerts/settings");
  document.getElementById("settings-s").hidden = false;
  document.getElementById("settings").replaceChildren(...(settings.length ? settings.map(settingsForm)
    : [el("p", {}, "No recipient of alerts.toml is linked to your account (account = \"…\"); ask the steward.")]));
  if (WHO.role !== "steward") return;
  const d = await getJSON("/api/v1/alerts/delivery");
  document.getElementById("delivery-s").hidden = false;
  document.getElementById("delivery").replaceChildren(
    el("p", {"data-role": "sender"}, d.sender === null ? (d.recipients.length ? "The notification sender has never run." : "Nobody to tell: no recipient in alerts.toml.")
      : d.sender.age_s < 120 ? `Notification sender running (last beat ${Math.round(d.sender.age_s)} s ago).`
      : el("span", {class: "alert"}, `Notification sender silent for ${Math.round(d.sender.age_s / 60)} min: nobody is being told.`)),
    ...d.channels.filter(c => c.failing_s !== null).map(c => el("p", {class: "band overshoot"},
      `▲ channel ${c.channel} of ${c.recipient} ${c.refused ? "refuses" : "fails"} (for ${Math.round(c.failing_s / 60)} min): ${c.error}`)),
    el("table", {class: "cards"}, el("thead", {}, el("tr", {}, ["message", "to", "made", "delivered"].map(h => el("th", {}, h)))),
      el("tbody", {}, d.messages.map(m => el("tr", {}, el("td", {}, m.title), el("td", {}, m.recipient), el("td", {}, when(m.created_ms)),
        el("td", {}, m.delivered ? "yes" : `waiting, ${m.attempts} attempts${m.last_error ? `: ${m.last_error}` : ""}`))))));
}
load();
setInterval(firingNow, 30000);  // the forms below keep what is being typed
