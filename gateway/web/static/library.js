"use strict";
// The public catalogue: every tool and whether it can be borrowed now. No member data.
const {el, getJSON} = EIL;
const STATES = {available: "● available", out: "◐ on loan", maintenance: "✕ in maintenance", missing: "? missing"};
let tools = [];

function render() {
  const cat = document.getElementById("category").value;
  const only = document.getElementById("available-only").checked;
  const rows = tools.filter(t => (!cat || t.category === cat) && (!only || t.available));
  document.querySelector("#tools tbody").replaceChildren(...(rows.length ? rows.map(t =>
    el("tr", {"data-tag": t.tag}, el("td", {}, t.name), el("td", {}, t.category),
      el("td", {class: `band ${t.available ? "safe" : "none"}`}, STATES[t.state] ?? t.state ?? "unknown")))
    : [el("tr", {}, el("td", {colspan: 3}, tools.length ? "No tool matches." : "The catalogue is empty."))]));
  const free = tools.filter(t => t.available).length;
  document.getElementById("updated").textContent = `${free} of ${tools.length} tools available.`;
}

(async () => {
  tools = await getJSON("/api/v1/library/catalogue");
  const cats = [...new Set(tools.map(t => t.category))].sort();
  document.getElementById("category").append(...cats.map(c => el("option", {value: c}, c)));
  document.getElementById("category").onchange = render;
  document.getElementById("available-only").onchange = render;
  render();
})();
