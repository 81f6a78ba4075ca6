// crmstream console, a manager's team: countdowns move; the page is re-read the moment a
// customer of the team changes, and when one of the manager's own warnings arrives.
"use strict";
// Needs common.js.
const manager = document.body.dataset.rep;
localTimes(document);
tickCountdowns();
setInterval(tickCountdowns, 1000);

const reread = () => rereadParts(["team-section", "slipping-section", "inbox-section"]);

const newest = document.querySelector("#notices .notice");
liveStream(`/reps/${encodeURIComponent(manager)}/notices` +
           (newest ? `?since=${newest.dataset.id}` : ""), {notice: () => reread()});
liveChanges("team", reread);
