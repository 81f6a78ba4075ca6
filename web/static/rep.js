// crmstream console, a rep's page: live countdowns, the inbox over Server-Sent Events (the
// session cookie signs the stream in), unread counts per type, and My customers re-read the
// moment one of them changes (a follow-up moves its customer down at once).
"use strict";
// Needs common.js.
const rep = document.body.dataset.rep;
const labels = JSON.parse(document.body.dataset.labels);
let readUpTo = document.body.dataset.read;  // the newest inbox id the rep marked read

function newer(a, b) {  // Redis stream ids "ms-seq"
  const [am, as] = a.split("-").map(Number), [bm, bs] = b.split("-").map(Number);
  return am > bm || (am === bm && as > bs);
}

function countUnread() {
  const read = readUpTo || "0-0";
  const counts = {};
  for (const item of document.querySelectorAll("#notices .notice")) {
    const unread = newer(item.dataset.id, read);
    item.classList.toggle("unread", unread);
    if (unread) counts[item.dataset.type] = (counts[item.dataset.type] || 0) + 1;
  }
  for (const badge of document.querySelectorAll(".badge")) {
    const n = counts[badge.dataset.type] || 0;
    badge.querySelector("b").textContent = n;
    badge.classList.toggle("unread", n > 0);
  }
}

function addNotice(id, notice) {
  const list = document.getElementById("notices");
  if (list.querySelector(`[data-id="${CSS.escape(id)}"]`)) return;
  const item = document.createElement("li");
  item.className = `notice ${notice.type}`;
  item.dataset.id = id;
  item.dataset.type = notice.type;
  for (const [cls, text] of [["kind", labels[notice.type] || notice.type],
                             ["customer", ""], ["time", notice.at],
                             ["reason", notice.reason]]) {
    const part = document.createElement(cls === "time" ? "time" : "span");
    if (cls === "time") part.setAttribute("datetime", text);
    else part.className = cls;
    if (cls === "customer") part.appendChild(customerLink(notice.customer_id));
    else part.textContent = text;
    item.appendChild(part);
  }
  list.prepend(item);
  localTimes(item);
}

async function refreshCustomers() {
  // Left alone while the rep is filling in an action on a row.
  const rows = document.getElementById("customer-rows");
  if (busyIn(rows)) return "busy";
  const response = await fetch("/console/rep/customers", {credentials: "same-origin"});
  if (!response.ok) return "failed";
  const html = await response.text();
  if (busyIn(rows)) return "busy";
  rows.innerHTML = html;
  localTimes(rows);
  document.getElementById("customer-count").textContent =
    document.querySelectorAll("#customer-rows tr[data-customer]").length;
  tickCountdowns();
  return "done";
}

function listen() {
  const newest = document.querySelector("#notices .notice");
  const url = `/reps/${encodeURIComponent(rep)}/notices` + (newest ? `?since=${newest.dataset.id}` : "");
  liveStream(url, {notice: (notice, id) => {
    addNotice(id, notice);
    countUnread();
  }});
  liveChanges("rep", refreshCustomers);
}

// Transfer and release from My customers: the API acts as the signed-in rep; the notice
// that follows (transferred_out, released, or rejected) refreshes the rows.
document.getElementById("customer-rows").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target, row = form.closest("tr");
  const outcome = row.querySelector(".outcome");
  const action = form.classList.contains("transfer") ? "transfer" : "release";
  const body = {customer_id: row.dataset.customer, request_id: crypto.randomUUID(),
                ...Object.fromEntries(new FormData(form))};
  outcome.textContent = "申请中 pending…";
  outcome.className = "outcome pending";
  const answer = await postJson(`/console/api/${action}`, body);
  if (answer.error) {
    outcome.textContent = `✗ ${answer.error}`;
    outcome.className = "outcome refused";
    return;
  }
  form.closest("details").open = false;  // sent: the rows may move when it is applied
});

// Read marks are kept on the server: the counts follow the rep to its other devices.
document.getElementById("mark-read").addEventListener("click", async () => {
  const newest = document.querySelector("#notices .notice");
  if (!newest) return;
  const answer = await postJson("/console/api/inbox/read", {up_to: newest.dataset.id});
  if (!answer.error) readUpTo = answer.read_up_to;
  countUnread();
});
localTimes(document);
tickCountdowns();
countUnread();
setInterval(tickCountdowns, 1000);
listen();
