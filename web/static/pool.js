// crmstream console, the pool page: Claim sends the claim (as the signed-in rep, with an
// idempotency key, so a double click claims once); the outcome comes back on the rep's live
// inbox as the `assigned` or `rejected` notice, and shows on the customer's row.
"use strict";
const rep = document.body.dataset.rep;

function two(n) { return String(n).padStart(2, "0"); }
for (const el of document.querySelectorAll("time[datetime]")) {
  const t = new Date(el.getAttribute("datetime"));
  el.textContent = `${two(t.getMonth() + 1)}-${two(t.getDate())} ${two(t.getHours())}:${two(t.getMinutes())}`;
}

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
    const response = await fetch("/console/api/claim", {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({customer_id: row.dataset.customer, pool_id: row.dataset.pool,
                            request_id: row.dataset.requestId}),
    });
    if (!response.ok) {
      const body = await response.json().catch(() => ({error: response.statusText}));
      show(row, `✗ ${body.error}`, "refused");
      button.disabled = false;
    }
  });
}

const stream = new EventSource(`/reps/${encodeURIComponent(rep)}/notices`);
const live = document.getElementById("live");
stream.onopen = () => live.classList.add("on");
stream.onerror = () => live.classList.remove("on");
stream.addEventListener("notice", (event) => {
  const notice = JSON.parse(event.data);
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
});
