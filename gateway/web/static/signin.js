"use strict";
// Sign-in and first-run forms: JSON to the API, then back to the page that asked.
(() => {
  const params = new URLSearchParams(location.search);
  const next = params.get("next");
  const target = next && next.startsWith("/") && !next.startsWith("//") ? next : "/";
  const need = document.getElementById("need");
  if (need && params.get("need")) {
    need.hidden = false;
    need.textContent = `That page needs a ${params.get("need")} account.`;
  }
  const form = document.getElementById("signin") ?? document.getElementById("setup");
  form.addEventListener("submit", async ev => {
    ev.preventDefault();
    const body = Object.fromEntries(new FormData(form));
    const r = await fetch(form.id === "setup" ? "/api/v1/first-run" : "/api/v1/session", {
      method: "POST", credentials: "same-origin", headers: {"Content-Type": "application/json"},
      body: JSON.stringify(body)});
    if (r.ok) { location.assign(form.id === "setup" ? "/fleet" : target); return; }
    const error = document.getElementById("error");
    error.hidden = false;
    let detail = `HTTP ${r.status}`;
    try { const d = (await r.json()).detail; detail = typeof d === "string" ? d : d.map(x => `${x.loc.at(-1)}: ${x.msg}`).join("; "); } catch (e) { /* keep */ }
    error.textContent = detail;
  });
})();
