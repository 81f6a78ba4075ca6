"""The worker's Prometheus metrics, defined once. Base units, ``_total`` counters, and no
customer or rep ids as labels (they would explode the series count)."""

from prometheus_client import Counter, Gauge, Histogram

EVENTS_PROCESSED = Counter(
    "crmstream_events_processed_total", "Input records applied to customer state", ["topic"]
)
DUPLICATES = Counter(
    "crmstream_duplicates_skipped_total",
    "Input records skipped as already applied (by offset after a replay, or by event id)",
    ["topic", "by"],
)
DEAD_LETTERS = Counter(
    "crmstream_dead_letters_total", "Input records sent to the dead-letter topic",
    ["topic", "reason"],
)
FORWARDED = Counter(
    "crmstream_records_forwarded_total",
    "Input records that arrived off their customer's home partition, forwarded to it "
    "(the producer hashes keys differently, or sends none)", ["topic"],
)
EVENT_LATENCY = Histogram(
    "crmstream_event_latency_seconds",
    "From an event's occurred_at to its state change being durable in Redis",
    buckets=(0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.5, 0.75,
             1, 2.5, 5, 10, 30, 60, 300),
)
# The latency above split in two, per batch: where an event waits before the worker starts on
# it (producer linger, broker, consumer fetch, Faust's buffer), and the worker's own time.
BATCH_PICKUP = Histogram(
    "crmstream_batch_pickup_seconds",
    "From the oldest occurred_at in a batch to the worker starting on the batch",
    buckets=(0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
BATCH_SECONDS = Histogram(
    "crmstream_batch_processing_seconds",
    "Time to process one batch: decode, apply, score, publish and write to Redis",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
BATCH_SIZE = Histogram(
    "crmstream_batch_records", "Records per processed batch",
    buckets=(1, 10, 50, 100, 250, 500, 1000, 2000, 5000),
)
REDIS_BATCHES = Counter("crmstream_redis_batches_total", "Batches written to Redis")
REDIS_ERRORS = Counter(
    "crmstream_redis_batch_errors_total", "Failed Redis batch writes (retried)", ["kind"]
)
REDIS_WRITE_SECONDS = Histogram(
    "crmstream_redis_batch_write_seconds", "Time to write one batch to Redis",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1),
)
OUTPUTS = Counter("crmstream_outputs_published_total", "Messages published", ["topic"])
REJECTED_COMMANDS = Counter(
    "crmstream_commands_rejected_total", "Commands refused by the state rules", ["type"]
)
OWNED_PARTITIONS = Gauge("crmstream_owned_partitions", "Partitions this worker owns now")
# Per partition (a bounded label: the input topics' partition count), for the stuck-partition
# alert: behind with no progress.
PARTITION_LAG = Gauge(
    "crmstream_partition_lag_records",
    "Records on the broker not yet durable in Redis, per owned input partition (all topics)",
    ["partition"],
)
PARTITION_PROGRESS = Gauge(
    "crmstream_partition_progress_timestamp_seconds",
    "When a batch of the owned partition last became durable (or it was assigned), Unix time",
    ["partition"],
)
PARTITIONS_STALLED = Gauge(
    "crmstream_partitions_stalled",
    "Owned partitions behind for CRMSTREAM_STALL_AFTER_S with no batch durable meanwhile",
)
CONSUMER_LAG = Gauge(
    "crmstream_consumer_lag_records",
    "Records on the broker the worker has not read yet, over its partitions",
)
FETCH_CAUGHT_UP = Gauge(
    "crmstream_kafka_fetch_caught_up",
    "1 while the worker is caught up and asks Kafka for fuller fetches, else 0",
)
CACHED_CUSTOMERS = Gauge("crmstream_cached_customers", "Customer states held in memory")
FENCED = Counter(
    "crmstream_partitions_fenced_total", "Partitions lost to another worker mid-write"
)
TIMERS_FIRED = Counter(
    "crmstream_pool_timers_fired_total", "Pool timers applied (warnings and reclaims)", ["kind"]
)
TIMER_LAG = Histogram(
    "crmstream_pool_timer_lag_seconds",
    "From a timer's due time to its transition being durable and its notices on Kafka",
    ["kind"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 5, 10, 60),
)
TIMER_ERRORS = Counter(
    "crmstream_pool_timer_errors_total", "Timers that failed to apply (a bug; retried later)"
)
NOTICES = Counter("crmstream_notices_total", "Notices sent to reps", ["type"])
GC_PAUSE = Histogram(
    "crmstream_gc_pause_seconds", "Garbage-collection pauses of the worker", ["generation"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)


def watch_gc_pauses() -> None:
    """Time every collection: with a large customer cache a full one can stall the worker."""
    import gc
    import time

    started: dict[str, float] = {}

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started["at"] = time.perf_counter()
        elif "at" in started:
            GC_PAUSE.labels(str(info["generation"])).observe(
                time.perf_counter() - started.pop("at")
            )

    gc.callbacks.append(on_gc)
TEXTS_SCORED = Counter("crmstream_texts_scored_total", "Interaction texts given a sentiment")
SCORING_ERRORS = Counter(
    "crmstream_scoring_errors_total",
    "Scoring that raised (a bug): the events were applied without the score", ["model"],
)
CHURN_SCORED = Counter("crmstream_churn_scored_total", "Customers given a new churn risk")
MODEL_LABELS = Counter(
    "crmstream_model_labels_total",
    "Labels a model learned from (sentiment: rated texts; churn: resolved predictions)",
    ["model", "label"],
)
MODEL_ROC_AUC = Gauge(
    "crmstream_model_roc_auc", "ROC AUC over the model's last 1000 labels (exact)", ["model"]
)
MODEL_LOG_LOSS = Gauge(
    "crmstream_model_log_loss", "Log loss over the model's last 1000 labels", ["model"]
)
MODEL_ACCURACY = Gauge(
    "crmstream_model_accuracy", "Accuracy at 0.5 over the model's last 1000 labels", ["model"]
)
MODEL_DRIFTS = Counter(
    "crmstream_model_drifts_total", "Drifts ADWIN found in a model's error stream", ["model"]
)
ALERTS = Counter("crmstream_alerts_total", "Alerts raised for ops", ["type"])
MODEL_CHECKPOINT_BYTES = Gauge(
    "crmstream_model_checkpoint_bytes", "Size of the last saved model checkpoint", ["model"]
)
