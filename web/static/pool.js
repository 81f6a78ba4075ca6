// crmstream console, the pool page: Claim sends the claim (as the signed-in rep, with an
// idempotency key, so a double click claims once); the outcome comes back on the rep's live
// inbox as the `assigned` or `rejected` notice, and shows on the customer's row. The pools
// are re-read the moment their waiting customers change (another rep's claim, a reclaim).
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

document.querySelector("main").addEventListener("click", async (event) => {
  const button = event.target.closest("button.claim");
  if (!button) return;
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

// The fresh rows replace the old, except the rep's own claims: their rows stay to show the
// outcome (a claimed customer leaves the pool, its row says where it went).
async function reread() {
  const response = await fetch(location.pathname, {credentials: "same-origin"});
  if (!response.ok) return "failed";
  const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
  document.getElementById("held").replaceWith(fresh.getElementById("held"));
  for (const section of fresh.querySelectorAll("section.pool")) {
    const shown = document.getElementById(section.id);
    if (!shown) continue;
    const claimed = new Map([...shown.querySelectorAll("tr[data-request-id]")]
      .map((row) => [row.dataset.customer, row]));
    for (const row of section.querySelectorAll("tr[data-customer]")) {
      if (claimed.has(row.dataset.customer)) row.replaceWith(claimed.get(row.dataset.customer));
    }
    const body = section.querySelector("tbody");
    for (const [customer, row] of claimed) {
      if (!body.querySelector(`tr[data-customer="${CSS.escape(customer)}"]`)) body.append(row);
    }
    if (claimed.size) body.querySelector("td.empty")?.parentElement.remove();
    shown.replaceWith(section);
  }
  localTimes(document);
  return "done";
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
liveChanges("pool", reread);
