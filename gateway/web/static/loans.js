"use strict";
// Volunteers: open loans, overdue first, members by number only.
const {el, getJSON, when} = EIL;

(async () => {
  const loans = await getJSON("/api/v1/library/loans");
  loans.sort((a, b) => (b.overdue - a.overdue) || (a.due_ms - b.due_ms));
  document.querySelector("#loans tbody").replaceChildren(...(loans.length ? loans.map(l =>
    el("tr", {"data-tool": l.tool, class: l.overdue ? "overdue" : null},
      el("td", {}, l.name ?? l.tool), el("td", {"data-label": "member no."}, l.member_no ?? "not enrolled"),
      el("td", {"data-label": "out since"}, when(l.out_ms)), el("td", {"data-label": "due"}, when(l.due_ms)),
      el("td", {"data-label": "state"}, l.overdue ? el("span", {class: "band overshoot"}, "▲ overdue") : el("span", {class: "band safe"}, "● on time"))))
    : [el("tr", {}, el("td", {colspan: 5}, "No tool is out."))]));
})();
