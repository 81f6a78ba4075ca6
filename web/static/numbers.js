// crmstream console, the numbers: re-read when committed changes arrive, at most every 3 s
// (the report sums every partition's counts; a busy stream changes them all the time).
"use strict";
// Needs common.js.
const parts = ["headline", "conversion", "loss", "segments", "standing", "by-team", "daily"];
let last = 0;
liveChanges("numbers", async () => {
  const wait = last + 3000 - Date.now();
  if (wait > 0) await new Promise((done) => setTimeout(done, wait));
  last = Date.now();
  return rereadParts(parts);
}, "");
