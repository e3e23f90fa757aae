"use strict";
// A message's acknowledgement link: shows the alert, acknowledges it only when the person
// presses the button (a mail scanner that opens links acknowledges nothing).
const {el, when} = EIL;
const token = new URLSearchParams(location.search).get("token") ?? "";

async function load() {
  const box = document.getElementById("alert");
  const r = await fetch(`/api/v1/alerts/link?token=${encodeURIComponent(token)}`);
  if (!r.ok) {
    box.replaceChildren(el("p", {class: "error"}, (await r.json()).detail ?? `HTTP ${r.status}`),
      el("p", {}, el("a", {href: "/alerts"}, "See the alerts")));
    return;
  }
  const a = await r.json();
  box.replaceChildren(el("h2", {}, `${a.title} (${a.scope})`), el("p", {}, a.text),
    el("p", {class: "meta"}, `${a.state}, ${a.severity}, since ${when(a.since_ms)}`));
  const form = document.getElementById("ack");
  form.hidden = a.state !== "firing";
  form.onsubmit = async ev => {
    ev.preventDefault();
    const res = await fetch("/api/v1/alerts/link", {method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({token, note: document.getElementById("note").value || null})});
    const out = await res.json();
    document.getElementById("result").textContent = res.ok ? `Acknowledged: ${out.title} (${out.scope}). No repeats and no escalation until it fires again.` : out.detail;
    form.hidden = res.ok;
  };
}
load();
