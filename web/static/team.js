// crmstream console, a manager's team: countdowns move; the manager's own warnings arrive
// live, and the page is re-read when one does (or every 30 s) to show what slips now.
"use strict";
// Needs common.js.
const manager = document.body.dataset.rep;
localTimes(document);
tickCountdowns();
setInterval(tickCountdowns, 1000);

async function reread() {
  const response = await fetch(location.pathname, {credentials: "same-origin"});
  if (!response.ok) return;
  const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
  for (const id of ["team-section", "slipping-section", "inbox-section"]) {
    document.getElementById(id).replaceWith(fresh.getElementById(id));
  }
  localTimes(document);
  tickCountdowns();
}

const newest = document.querySelector("#notices .notice");
liveStream(`/reps/${encodeURIComponent(manager)}/notices` +
           (newest ? `?since=${newest.dataset.id}` : ""), {notice: () => reread()});
setInterval(reread, 30000);
