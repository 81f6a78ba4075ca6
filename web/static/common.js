// crmstream console: what every page shares. Times come in UTC (RFC 3339) and are shown in
// the browser's own time zone; countdowns to a reclaim move every second, amber inside the
// pool's warning time and red inside the manager's; live streams are Server-Sent Events
// signed in by the session cookie, and show whether they are connected.
"use strict";

function two(n) { return String(n).padStart(2, "0"); }

function localTimes(root) {
  for (const el of root.querySelectorAll("time[datetime]")) {
    const t = new Date(el.getAttribute("datetime"));
    el.textContent = `${two(t.getMonth() + 1)}-${two(t.getDate())} ` +
      `${two(t.getHours())}:${two(t.getMinutes())}:${two(t.getSeconds())}`;
  }
}

function timeLeft(ms) {
  if (ms <= 0) return "已到期 due";
  const s = Math.floor(ms / 1000), d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600);
  const m = Math.floor(s % 3600 / 60), sec = s % 60;
  return d ? `${d}d ${two(h)}:${two(m)}:${two(sec)}` : `${two(h)}:${two(m)}:${two(sec)}`;
}

function tickCountdowns() {
  const now = Date.now();
  for (const cell of document.querySelectorAll(".countdown[data-deadline]")) {
    if (!cell.dataset.deadline) continue;
    const ms = Date.parse(cell.dataset.deadline) - now;
    cell.textContent = timeLeft(ms);
    const warn = Number(cell.dataset.warnS) * 1000;
    const manager = Number(cell.dataset.managerWarnS) * 1000;
    cell.classList.toggle("red", manager > 0 ? ms <= manager : ms <= 0);
    cell.classList.toggle("amber", !cell.classList.contains("red") && warn > 0 && ms <= warn);
  }
}

function customerLink(customerId) {
  const link = document.createElement("a");
  link.className = "customer-link";
  link.href = `/console/customers/${encodeURIComponent(customerId)}`;
  link.textContent = customerId;
  return link;
}

// The header's live mark is on while every live stream of the page is connected.
const openStreams = new Set();
// A page the browser keeps in its back-forward cache keeps its streams open, and HTTP/1.1
// allows six connections to a host: after three pages of two streams the next page waited
// a minute in Chromium. So the streams close when the page is hidden, and a page restored
// from the cache is read afresh.
window.addEventListener("pagehide", () => { for (const stream of openStreams) stream.close(); });
window.addEventListener("pageshow", (event) => { if (event.persisted) location.reload(); });
function showLive(stream, onOpen = () => {}, onError = () => {}) {
  const live = document.getElementById("live");
  const mark = () => live && live.classList.toggle("on", [...openStreams].every(
    (s) => s.readyState === EventSource.OPEN));
  openStreams.add(stream);
  stream.onopen = () => { mark(); onOpen(); };
  stream.onerror = () => { mark(); onError(); };  // it reconnects by itself
}

function liveStream(url, handlers) {
  const stream = new EventSource(url);
  showLive(stream);
  for (const [event, handle] of Object.entries(handlers)) {
    stream.addEventListener(event, (e) => handle(JSON.parse(e.data), e.lastEventId));
  }
  return stream;
}

// POST a JSON body as the signed-in person; the parsed answer, or {error} with the reason.
async function postJson(url, body) {
  const response = await fetch(url, {
    method: "POST", credentials: "same-origin", headers: {"Content-Type": "application/json"},
    body: JSON.stringify(body),
  });
  const answer = await response.json().catch(() => ({error: response.statusText}));
  return response.ok ? answer : {error: answer.error || response.statusText};
}

// Something the page shows changed (a batch was committed): re-read at once, and once more
// if another change arrives meanwhile. A re-read is put off while the person is filling in
// a form on the part it would replace. After a lost connection, one re-read covers the gap.
function liveChanges(page, reread, query = "") {
  let running = false, again = false;
  async function run() {
    if (running) { again = true; return; }
    running = true;
    try {
      do {
        again = false;
        if (await reread() === "busy") { again = false; setTimeout(run, 2000); break; }
      } while (again);
    } finally { running = false; }
  }
  const stream = new EventSource(`/console/changes?page=${page}${query}`);
  let lost = false;
  stream.addEventListener("changed", run);
  showLive(stream, () => { if (lost) run(); lost = false; }, () => { lost = true; });
  return stream;
}

// Whether the person is at work inside `root`: typing in it, or an action opened in it.
function busyIn(root) {
  const active = document.activeElement;
  return Boolean(root.querySelector("details[open]") ||
    (active && root.contains(active) && active.matches("input, select, textarea")));
}

// Re-read this page from the server and swap in its parts with these ids; "busy" (and
// nothing swapped) while the person is at work in one of them.
async function rereadParts(ids) {
  if (ids.some((id) => busyIn(document.getElementById(id)))) return "busy";
  const response = await fetch(location.pathname + location.search, {credentials: "same-origin"});
  if (!response.ok) return "failed";
  const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
  if (ids.some((id) => busyIn(document.getElementById(id)))) return "busy";
  for (const id of ids) {
    const part = fresh.getElementById(id);
    if (part) document.getElementById(id).replaceWith(part);
  }
  localTimes(document);
  tickCountdowns();
  return "done";
}
