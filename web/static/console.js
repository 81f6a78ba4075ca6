// crmstream console, a rep's page: live countdowns, the inbox over Server-Sent Events (the
// session cookie signs the stream in), unread counts per type, and My customers refreshed
// when a notice arrives or every 10 s (a follow-up moves a customer down without a notice).
"use strict";
const rep = document.body.dataset.rep;
const labels = JSON.parse(document.body.dataset.labels);
const readKey = `crmstream:read:${rep}`;  // the newest inbox id this browser marked read

function left(ms) {
  if (ms <= 0) return "已到期 due";
  const s = Math.floor(ms / 1000), d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600);
  const m = Math.floor(s % 3600 / 60), sec = s % 60;
  const two = (n) => String(n).padStart(2, "0");
  return d ? `${d}d ${two(h)}:${two(m)}:${two(sec)}` : `${two(h)}:${two(m)}:${two(sec)}`;
}

function tick() {
  const now = Date.now();
  for (const cell of document.querySelectorAll(".countdown[data-deadline]")) {
    if (!cell.dataset.deadline) continue;
    const ms = Date.parse(cell.dataset.deadline) - now;
    cell.textContent = left(ms);
    const warn = Number(cell.dataset.warnS) * 1000, manager = Number(cell.dataset.managerWarnS) * 1000;
    cell.classList.toggle("red", manager > 0 ? ms <= manager : ms <= 0);
    cell.classList.toggle("amber", !cell.classList.contains("red") && warn > 0 && ms <= warn);
  }
}

// Times come in UTC (RFC 3339); a person reads them in the browser's own time zone.
function localTimes(root) {
  const two = (n) => String(n).padStart(2, "0");
  for (const el of root.querySelectorAll("time[datetime]")) {
    const t = new Date(el.getAttribute("datetime"));
    el.textContent = `${two(t.getMonth() + 1)}-${two(t.getDate())} ` +
      `${two(t.getHours())}:${two(t.getMinutes())}:${two(t.getSeconds())}`;
  }
}

function newer(a, b) {  // Redis stream ids "ms-seq"
  const [am, as] = a.split("-").map(Number), [bm, bs] = b.split("-").map(Number);
  return am > bm || (am === bm && as > bs);
}

function countUnread() {
  const read = localStorage.getItem(readKey) || "0-0";
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
                             ["customer", notice.customer_id], ["time", notice.at],
                             ["reason", notice.reason]]) {
    const part = document.createElement(cls === "time" ? "time" : "span");
    if (cls === "time") part.setAttribute("datetime", text);
    else part.className = cls;
    part.textContent = text;
    item.appendChild(part);
  }
  list.prepend(item);
  localTimes(item);
}

async function refreshCustomers(force = true) {
  // The periodic refresh leaves the rows alone while the rep is filling in an action.
  if (!force && document.querySelector("#customer-rows details[open]")) return;
  const response = await fetch("/console/rep/customers", {credentials: "same-origin"});
  if (!response.ok) return;
  const rows = document.getElementById("customer-rows");
  rows.innerHTML = await response.text();
  localTimes(rows);
  document.getElementById("customer-count").textContent =
    document.querySelectorAll("#customer-rows tr[data-customer]").length;
  tick();
}

function listen() {
  const newest = document.querySelector("#notices .notice");
  const since = newest ? newest.dataset.id : "$";
  const url = `/reps/${encodeURIComponent(rep)}/notices` + (since === "$" ? "" : `?since=${since}`);
  const stream = new EventSource(url);
  const live = document.getElementById("live");
  stream.onopen = () => live.classList.add("on");
  stream.onerror = () => live.classList.remove("on");  // EventSource reconnects by itself
  stream.addEventListener("notice", (event) => {
    addNotice(event.lastEventId, JSON.parse(event.data));
    countUnread();
    refreshCustomers();
  });
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
  const response = await fetch(`/console/api/${action}`, {
    method: "POST", credentials: "same-origin", headers: {"Content-Type": "application/json"},
    body: JSON.stringify(body),
  });
  if (!response.ok) {
    const failed = await response.json().catch(() => ({error: response.statusText}));
    outcome.textContent = `✗ ${failed.error}`;
    outcome.className = "outcome refused";
  }
});

document.getElementById("mark-read").addEventListener("click", () => {
  const newest = document.querySelector("#notices .notice");
  if (newest) localStorage.setItem(readKey, newest.dataset.id);
  countUnread();
});
localTimes(document);
tick();
countUnread();
setInterval(tick, 1000);
setInterval(() => refreshCustomers(false), 10000);
listen();
