// crmstream console, the alert desk: alerts live, filtered by type and severity, and
// acknowledged by a person; an acknowledgement shows on every open desk at once.
"use strict";
// Needs common.js.
const SEVERITIES = ["info", "warning", "critical"];

function filter() {
  const type = document.getElementById("type-filter").value;
  const lowest = SEVERITIES.indexOf(document.getElementById("severity-filter").value);
  for (const row of document.querySelectorAll("#alert-rows tr.alert")) {
    row.hidden = (type && row.dataset.type !== type) ||
      SEVERITIES.indexOf(row.dataset.severity) < lowest;
  }
}

function cell(text, tag = "td") {
  const el = document.createElement(tag);
  el.textContent = text;
  return el;
}

function showAck(row, ack) {
  const td = row.querySelector("td.ack");
  td.textContent = `✓ ${ack.by} `;
  const at = document.createElement("time");
  at.setAttribute("datetime", ack.at);
  td.appendChild(at);
  localTimes(td);
}

function addAlert(id, alert) {
  if (document.querySelector(`tr[data-id="${CSS.escape(id)}"]`)) return;
  const row = document.createElement("tr");
  row.className = `alert ${alert.severity}`;
  Object.assign(row.dataset, {id, alert: alert.alert_id, type: alert.type,
                              severity: alert.severity});
  const severity = cell("");
  severity.appendChild(cell(alert.severity, "span")).className = "severity";
  const what = cell("");
  what.appendChild(cell(alert.type, "b"));
  what.appendChild(document.createElement("br"));
  what.appendChild(cell(alert.message, "small"));
  const time = cell("");
  time.className = "wide";
  time.appendChild(cell("", "time")).setAttribute("datetime", alert.at);
  const ack = cell("");
  ack.className = "ack";
  const button = cell("确认 Acknowledge", "button");
  button.type = "button";
  button.className = "acknowledge";
  ack.appendChild(button);
  const customer = cell("");
  customer.appendChild(customerLink(alert.customer_id));
  for (const part of [severity, customer, what, time, ack]) row.appendChild(part);
  document.getElementById("alert-rows").prepend(row);
  localTimes(row);
  filter();
}

document.getElementById("alert-rows").addEventListener("click", async (event) => {
  const button = event.target.closest("button.acknowledge");
  if (!button) return;
  const row = button.closest("tr");
  button.disabled = true;
  const ack = await postJson("/console/api/alerts/ack", {alert_id: row.dataset.alert});
  if (ack.error) button.disabled = false;
  else showAck(row, ack);
});

for (const id of ["type-filter", "severity-filter"]) {
  document.getElementById(id).addEventListener("change", filter);
}
localTimes(document);
filter();

const newest = document.querySelector("#alert-rows tr.alert");
liveStream("/alerts" + (newest ? `?since=${newest.dataset.id}` : ""),
           {alert: (alert, id) => addAlert(id, alert)});
liveStream("/alerts/acks", {ack: (ack) => {
  const row = document.querySelector(`tr[data-alert="${CSS.escape(ack.alert_id)}"]`);
  if (row) showAck(row, ack);
}});
