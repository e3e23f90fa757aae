"use strict";
// Volunteers: open loans, overdue first, members by number only.
const {el, getJSON, when} = EIL;

(async () => {
  const loans = await getJSON("/api/v1/library/loans");
  loans.sort((a, b) => (b.overdue - a.overdue) || (a.due_ms - b.due_ms));
  document.querySelector("#loans tbody").replaceChildren(...(loans.length ? loans.map(l =>
    el("tr", {"data-tool": l.tool, class: l.overdue ? "overdue" : null},
      el("td", {}, l.name ?? l.tool), el("td", {}, l.member_no ?? "not enrolled"),
      el("td", {}, when(l.out_ms)), el("td", {}, when(l.due_ms)),
      el("td", {}, l.overdue ? el("span", {class: "band overshoot"}, "▲ overdue") : el("span", {class: "band safe"}, "● on time"))))
    : [el("tr", {}, el("td", {colspan: 5}, "No tool is out."))]));
})();
