"""The two dashboards' panels: a title, a PromQL query per series, a unit and a kind.

Every query sums over the workers (each exports its own partitions and batches) and keeps
to bounded labels. A counter that may not have moved yet is written ``... or vector(0)``
so its panel shows 0 rather than "no data".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True, slots=True)
class Panel:
    title: str
    queries: dict[str, str]  # legend -> PromQL ({{label}} in a legend names a series)
    unit: str = "short"
    kind: Literal["timeseries", "stat", "bargauge", "piechart"] = "timeseries"
    description: str = ""
    width: int = 12


@dataclass(frozen=True, slots=True)
class Dashboard:
    uid: str
    title: str
    description: str
    rows: list[tuple[str, list[Panel]]] = field(default_factory=list)


def _quantile(metric: str, q: float = 0.99, by: str = "") -> str:
    labels = f"le, {by}" if by else "le"
    return f"histogram_quantile({q}, sum by ({labels}) (rate({metric}_bucket[5m])))"


SRE = Dashboard(
    uid="crmstream-sre", title="crmstream · SRE",
    description="The worker's health: throughput, latency, lag, dead letters, Redis, timers, "
                "the collector and the models (README: Operations).",
    rows=[
        ("Throughput and latency", [
            Panel("Events per second by topic",
                  {"{{topic}}": "sum by (topic) (rate(crmstream_events_processed_total[1m]))"},
                  "ops"),
            Panel("Event latency (produce to durable)", {
                "p50": _quantile("crmstream_event_latency_seconds", 0.5),
                "p99": _quantile("crmstream_event_latency_seconds")}, "s"),
            Panel("Batch processing time", {
                "p50": _quantile("crmstream_batch_processing_seconds", 0.5),
                "p99": _quantile("crmstream_batch_processing_seconds")}, "s"),
            Panel("Consumer lag", {
                "all inputs": "sum(crmstream_consumer_lag_records)",
                "partition {{partition}}": "sum by (partition) "
                                           "(crmstream_partition_lag_records)"}, "short",
                description="Records on the broker not read yet, in all and per partition "
                            "(kafka_exporter's kafka_consumergroup_lag says the same from "
                            "outside)."),
        ]),
        ("Bad input and storage", [
            Panel("Dead letters by reason", {
                "{{reason}}": "sum by (reason) (rate(crmstream_dead_letters_total[5m]))"},
                "ops"),
            Panel("Stalled partitions", {
                "stalled": "sum(crmstream_partitions_stalled)"}, kind="stat", width=6),
            Panel("Owned partitions", {"owned": "sum(crmstream_owned_partitions)"},
                  kind="stat", width=6),
            Panel("Redis batch write time", {
                "p50": _quantile("crmstream_redis_batch_write_seconds", 0.5),
                "p99": _quantile("crmstream_redis_batch_write_seconds")}, "s"),
            Panel("Redis write errors (retried)", {
                "errors/s": "sum(rate(crmstream_redis_batch_errors_total[5m])) or vector(0)"},
                "ops"),
        ]),
        ("Timers, collector, models", [
            Panel("Pool timer lag (due to applied)", {
                "{{kind}} p99": _quantile("crmstream_pool_timer_lag_seconds", by="kind")}, "s"),
            Panel("Timers fired by kind", {
                "{{kind}}": "sum by (kind) (rate(crmstream_pool_timers_fired_total[5m]))"},
                "ops"),
            Panel("GC pauses", {
                "gen {{generation}} p99": _quantile("crmstream_gc_pause_seconds",
                                                    by="generation")}, "s"),
            Panel("Model quality (rolling ROC AUC)", {
                "{{model}}": "max by (model) (crmstream_model_roc_auc)"}, "percentunit"),
            Panel("Model drifts (last hour)", {
                "{{model}}": "sum by (model) (increase(crmstream_model_drifts_total[1h])) "
                             "or vector(0)"}),
            Panel("Labels learned", {
                "{{model}} {{label}}": "sum by (model, label) "
                                       "(rate(crmstream_model_labels_total[5m]))"}, "ops"),
        ]),
    ])

_EVENTS = "crmstream_customer_events_total"


def _events(pattern: str, window: str = "1h") -> str:
    return f'sum by (event) (increase({_EVENTS}{{event=~"{pattern}"}}[{window}]))'


MANAGERS = Dashboard(
    uid="crmstream-managers", title="crmstream · Managers",
    description="The numbers managers act on, live: customers won and lost and why, "
                "conversion, segments, unanswered customers (README: The numbers; the "
                "console's /console/numbers page has the exact day counts).",
    rows=[
        ("Customers now", [
            Panel("Customers by status", {
                "{{status}}": "sum by (status) (crmstream_customers)"}, kind="piechart",
                width=8),
            Panel("Customers by level", {
                "{{level}}": "sum by (level) (crmstream_customers)"}, kind="bargauge", width=8),
            Panel("RFM segments", {
                "{{segment}}": "sum by (segment) (crmstream_segment_customers)"},
                kind="bargauge", width=8),
        ]),
        ("Won and lost", [
            Panel("New, won, lost, won back (per hour)", {
                "{{event}}": _events("new|won|lost|won_back")}),
            Panel("Reclaimed, claimed, transferred, released (per hour)", {
                "{{event}}": _events("reclaimed|claimed|transferred|assigned|released")}),
            Panel("Losses by stage (last day)", {
                "{{stage}} (paid before: {{paid_before}})":
                    "sum by (stage, paid_before) (increase(crmstream_losses_total[1d]))"},
                kind="bargauge"),
            Panel("Loss reasons (last day)", {
                "{{signal}}": "sum by (signal) (increase(crmstream_loss_signals_total[1d]))"},
                kind="bargauge"),
        ]),
        ("Sales and follow-up", [
            Panel("Orders (per hour)", {"{{event}}": _events("orders_.*")}),
            Panel("Paid amount (per hour)", {
                "paid": "sum(increase(crmstream_paid_amount_total[1h]))"}, "currencyCNY"),
            Panel("Registration to first paid order (last day)", {
                "rate": f'sum(increase({_EVENTS}{{event="first_paid"}}[1d])) / '
                        f'sum(increase({_EVENTS}{{event="new"}}[1d]))'}, "percentunit",
                  kind="stat", description="Customers paying a first order over customers "
                  "new in the same day; the console shows the exact cohort rate."),
            Panel("Follow-ups (per hour)", {"follow-ups": _events("follow_ups")}),
            Panel("Unanswered now by level", {
                "{{level}}": "sum by (level) (crmstream_unanswered_customers) or vector(0)"}),
            Panel("Unanswered alerts (per hour)", {
                "{{event}}": _events("unanswered|unanswered_escalated") + " or vector(0)"}),
        ]),
    ])

DASHBOARDS = (SRE, MANAGERS)


def queries(dashboard: Dashboard) -> list[tuple[str, str]]:
    """(panel title, query) of every series of every panel."""
    return [(panel.title, query) for _, panels in dashboard.rows for panel in panels
            for query in panel.queries.values()]
