// crmstream console, the pool page: Claim sends the claim (as the signed-in rep, with an
// idempotency key, so a double click claims once); the outcome comes back on the rep's live
// inbox as the `assigned` or `rejected` notice, and shows on the customer's row.
"use strict";
// Needs common.js.
const rep = document.body.dataset.rep;
localTimes(document);

function rowOf(customer) {
  return [...document.querySelectorAll("tr[data-customer]")]
    .find((row) => row.dataset.customer === customer);
}

function show(row, text, kind) {
  const outcome = row.querySelector(".outcome");
  outcome.textContent = text;
  outcome.className = `outcome ${kind}`;
}

for (const button of document.querySelectorAll("button.claim")) {
  button.addEventListener("click", async () => {
    const row = button.closest("tr");
    button.disabled = true;
    row.dataset.requestId = row.dataset.requestId || crypto.randomUUID();
    show(row, "申请中 pending…", "pending");
    const answer = await postJson("/console/api/claim", {
      customer_id: row.dataset.customer, pool_id: row.dataset.pool,
      request_id: row.dataset.requestId});
    if (answer.error) {
      show(row, `✗ ${answer.error}`, "refused");
      button.disabled = false;
    }
  });
}

liveStream(`/reps/${encodeURIComponent(rep)}/notices`, {notice: (notice) => {
  const row = rowOf(notice.customer_id);
  if (!row || !row.dataset.requestId) return;
  if (notice.type === "assigned") {
    show(row, "✓ 已领取 claimed", "claimed");
    row.querySelector("button.claim").hidden = true;
  }
  else if (notice.type === "rejected") {
    show(row, `✗ ${notice.reason}`, "refused");
    row.querySelector("button.claim").disabled = false;
  }
}});
