// crmstream console, a customer's page: its countdown moves, and the page is re-read the
// moment the customer's state changes (an event, a follow-up, a new owner, a reclaim).
"use strict";
// Needs common.js.
localTimes(document);
tickCountdowns();
setInterval(tickCountdowns, 1000);
liveChanges("customer", () => rereadParts(["customer-main"]),
            `&customer=${encodeURIComponent(document.body.dataset.customer)}`);
