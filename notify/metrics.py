"""The delivery service's metrics (its own /metrics port)."""

from prometheus_client import Counter, Gauge, Histogram

DELIVERIES = Counter(
    "crmstream_deliveries_total",
    "Delivery attempts' outcomes by platform: sent, throttled, retried, failed (permanent), "
    "dead_lettered (each notice or alert of a digest counts once)",
    ["platform", "outcome"],
)
DELIVERY_LATENCY = Histogram(
    "crmstream_delivery_latency_seconds",
    "From a notice's or alert's time to the platform's acceptance",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300),
)
QUEUED = Gauge(
    "crmstream_delivery_queued",
    "Deliveries waiting for their robot (throttled or being retried)",
    ["robot"],
)
DIGESTS = Counter(
    "crmstream_delivery_digests_total",
    "Messages that merged a burst into one digest, by platform",
    ["platform"],
)
UNREADABLE = Counter(
    "crmstream_delivery_unreadable_total",
    "Records on the notices or alerts topics that were not a valid message (dead-lettered)",
)
