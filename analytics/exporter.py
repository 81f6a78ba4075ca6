"""The numbers as Prometheus metrics, for dashboards and alerting rules.

Bounded labels only (an event's name, a level, a status, a segment, a loss stage): never a
customer or a rep. Flows are counters each worker adds its durable batches to (sum them
over the workers; a restart resets a counter, which ``rate`` and ``increase`` handle).
Standing numbers are gauges of the worker's own partitions, read back from Redis every
``business_metrics_interval_s`` (sum them over the workers).
"""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import Counter, Gauge

CUSTOMER_EVENTS = Counter(
    "crmstream_customer_events_total",
    "Customer flows by event (new, won, lost, reclaimed, claimed, follow_ups, orders_paid, "
    "unanswered, ...; README: The numbers) and customer level",
    ["event", "level"],
)
PAID_AMOUNT = Counter("crmstream_paid_amount_total",
                      "Paid order amounts (currency units, as sent)", ["level"])
LOSSES = Counter("crmstream_losses_total", "Lost customers by stage at the loss",
                 ["stage", "paid_before"])
LOSS_SIGNALS = Counter("crmstream_loss_signals_total",
                       "Signals lost customers showed at the loss", ["signal"])
CUSTOMERS = Gauge("crmstream_customers", "Customers now, by status and level, of the "
                  "worker's partitions", ["status", "level"])
SEGMENT_CUSTOMERS = Gauge("crmstream_segment_customers",
                          "Customers now per RFM segment, of the worker's partitions",
                          ["segment"])
UNANSWERED_NOW = Gauge("crmstream_unanswered_customers",
                       "Customers whose question waits past its answer time now, by level",
                       ["level"])

_NOT_EVENTS = ("paid_cents", "refunded_cents", "lost_follow_up_seconds")


def count_flows(tallies: Mapping[tuple[int, str], Mapping[str, int]]) -> None:
    """A durable batch's flows (counted once: from its UTC days)."""
    for (_, period), counts in tallies.items():
        if not period.startswith("utc:"):
            continue
        for name, n in counts.items():
            metric, _, level, _ = name.split("|")
            if metric == "paid_cents":
                PAID_AMOUNT.labels(level).inc(n / 100)
            elif metric.startswith("lost_stage:"):
                _, stage, paid = metric.split(":")
                LOSSES.labels(stage, "yes" if paid == "paid" else "no").inc(n)
            elif metric.startswith("lost_signal:"):
                LOSS_SIGNALS.labels(metric.split(":", 1)[1]).inc(n)
            elif ":" not in metric and metric not in _NOT_EVENTS:
                CUSTOMER_EVENTS.labels(metric, level).inc(n)


def show_standing(standing: Mapping[str, int]) -> None:
    """The standing numbers of the worker's partitions (``StatsStore.standing``)."""
    customers: dict[tuple[str, str], int] = {}
    segments: dict[str, int] = {}
    unanswered: dict[str, int] = {}
    for name, n in standing.items():
        metric, _, level, _ = name.split("|")
        kind, _, value = metric.partition(":")
        if kind == "customers":
            customers[(value, level)] = customers.get((value, level), 0) + n
        elif kind == "segment":
            segments[value] = segments.get(value, 0) + n
        elif kind == "unanswered_now":
            unanswered[level] = unanswered.get(level, 0) + n
    for gauge, values in ((CUSTOMERS, customers), (SEGMENT_CUSTOMERS, segments),
                          (UNANSWERED_NOW, unanswered)):
        gauge.clear()  # a partition that moved away, or a status nobody has any more
        for labels, n in values.items():
            gauge.labels(*((labels,) if isinstance(labels, str) else labels)).set(n)


