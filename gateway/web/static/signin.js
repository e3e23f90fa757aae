"use strict";
// Sign-in and first-run forms: JSON to the API, then back to the page that asked.
(() => {
  const params = new URLSearchParams(location.search);
  const next = params.get("next");
  const target = next && next.startsWith("/") && !next.startsWith("//") ? next : "/";
  // say why the visitor is here: a page for stewards or volunteers, or a session that ended
  const need = document.getElementById("need");
  const roles = (params.get("need") ?? "").split(/[+ ]/).filter(Boolean).join(" or ");
  const page = next && next.startsWith("/") ? next.split("?")[0] : "That page";
  const why = params.get("why");
  const reason = why === "role" ? `${page} needs a ${roles} account; you are signed in with another one.`
    : why === "signin" ? `${page} is for ${roles ? roles + "s" : "signed-in accounts"}: sign in to open it.`
    : why === "expired" ? `Your sign-in has ended (sessions last 12 hours), or ${page} needs another account: sign in again.`
    : null;
  if (need && reason) {
    need.hidden = false;
    need.textContent = reason;
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
