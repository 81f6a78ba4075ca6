// crmstream console, a pool admin's page: each customer's action goes to the API as the
// signed-in admin; the page re-reads its pools the moment one of their customers changes.
"use strict";
// Needs common.js.
const reread = () => rereadParts(["pools"]);

document.addEventListener("submit", async (event) => {
  if (!event.target.matches("form.admin-action")) return;
  event.preventDefault();
  const form = event.target, row = form.closest("tr");
  const outcome = row.querySelector(".outcome");
  const fields = Object.fromEntries(new FormData(form));
  if (!fields.rep_id) delete fields.rep_id;
  const action = ["transfer", "release"].includes(fields.type) ? fields.type : "admin";
  const body = {customer_id: row.dataset.customer, request_id: crypto.randomUUID(), ...fields};
  if (action === "transfer") { body.to_rep_id = body.rep_id; delete body.rep_id; }
  if (action === "release") body.reason = "released by the pool's admin";
  outcome.textContent = "申请中 pending…";
  const answer = await postJson(`/console/api/${action}`, body);
  if (answer.error) {
    outcome.textContent = `✗ ${answer.error}`;
    return;
  }
  form.querySelector(":focus")?.blur();  // done here: the re-read may replace the row
});
liveChanges("admin", reread);
