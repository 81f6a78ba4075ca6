"""Every setting of crmstream, read from the environment with the prefix ``CRMSTREAM_``."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.decode import InputKind

LOCAL_FORGET_KEY = "crmstream-local-forget-key"
LOCAL_CONSOLE_SECRET = "crmstream-local-console-secret-change-me"
SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


class Topics:
    """The topic names, derived from one prefix so a deployment can namespace them."""

    def __init__(self, prefix: str) -> None:
        self.interactions = f"{prefix}interactions"
        self.clicks = f"{prefix}clicks"
        self.orders = f"{prefix}orders"
        self.commands = f"{prefix}commands"
        self.notices = f"{prefix}notices"
        self.alerts = f"{prefix}alerts"
        self.scores = f"{prefix}scores"
        self.dlq = f"{prefix}dlq"
        self.delivery_dlq = f"{prefix}delivery_dlq"
        self.kind_of: dict[str, InputKind] = {
            self.interactions: "interactions", self.clicks: "clicks",
            self.orders: "orders", self.commands: "commands",
        }

    @property
    def inputs(self) -> tuple[str, str, str, str]:
        return (self.interactions, self.clicks, self.orders, self.commands)

    @property
    def outputs(self) -> tuple[str, ...]:
        return (self.notices, self.alerts, self.scores, self.dlq, self.delivery_dlq)


class Settings(BaseSettings):
    # hide_input_in_errors: an invalid setting's error must not quote secrets beside it.
    model_config = SettingsConfigDict(env_prefix="CRMSTREAM_", env_file=".env", extra="ignore",
                                      hide_input_in_errors=True)

    app_id: str = "crmstream"
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_security_protocol: SecurityProtocol = "PLAINTEXT"
    kafka_sasl_mechanism: SaslMechanism = "PLAIN"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: Path | None = None
    kafka_ssl_certfile: Path | None = None
    kafka_ssl_keyfile: Path | None = None

    # How long a worker that stopped answering (a crash) keeps its partitions before the
    # group hands them to another worker.
    kafka_session_timeout_s: float = Field(default=30, ge=6, le=300)
    # Faust's own consumer thread instead of the consumer on the worker's loop
    # (agents/kafka_transport.py says what each costs).
    kafka_consumer_thread: bool = False
    # While caught up (a lag under CAUGHT_UP_LAG records, until it passes BEHIND_LAG), a
    # fetch waits up to MAX_WAIT_MS for MIN_BYTES (agents/kafka_transport.py: FetchPolicy);
    # behind, Faust's (any byte, 1.5 s). MIN_BYTES 1 keeps Faust's fetches all the time.
    # Needs the consumer on the worker's loop.
    kafka_caught_up_fetch_min_bytes: int = Field(default=32_768, ge=1)
    kafka_caught_up_fetch_max_wait_ms: int = Field(default=30, ge=0, le=1500)
    kafka_caught_up_lag: int = Field(default=1_000, ge=0)
    kafka_behind_lag: int = Field(default=5_000, ge=0)

    redis_url: SecretStr = SecretStr("redis://127.0.0.1:6379/0")
    redis_key_prefix: str = "crm:"
    # Keys the hash under which a forgotten customer's tombstone is filed (state/forget.py).
    # Set a secret of your own in production: with a known key, tombstones of guessable ids
    # can be matched. Changing it orphans the tombstones made before.
    forget_key: SecretStr = SecretStr(LOCAL_FORGET_KEY)

    topic_prefix: str = "crm."
    partitions: int = Field(default=8, ge=1)
    replication_factor: int = Field(default=1, ge=1)

    web_host: str = "127.0.0.1"
    web_port: int = Field(default=6066, ge=1, le=65535)
    # Signs the tokens of the people using the worker's web port (web/identity.py). Set a
    # secret of your own in production: anyone who knows it can sign in as anyone.
    console_secret: SecretStr = SecretStr(LOCAL_CONSOLE_SECRET)
    # Behind an identity-aware proxy (oauth2-proxy): the header naming the signed-in person,
    # and the one listing its groups (the first that is a role counts). Unset: tokens.
    identity_header: str | None = None
    identity_role_header: str = "X-Auth-Request-Groups"
    state_dir: Path = Path(".stack/worker")
    pool_rules_file: Path | None = None
    timer_tick_s: float = Field(default=0.1, gt=0, le=5)
    gc_freeze_interval_s: float = Field(default=1, gt=0)
    # Allocations between two young-generation collections (CPython's default is 700).
    gc_young_threshold: int = Field(default=50_000, ge=100)
    model_checkpoint_interval_s: float = Field(default=30, gt=0)
    gc_full_collect_interval_s: float = Field(default=900, gt=0)
    default_pool: str = "default"
    default_level: str = "C"

    batch_max_events: int = Field(default=1000, ge=1)
    batch_within_s: float = Field(default=0.01, gt=0)
    cache_max_customers: int = Field(default=200_000, ge=1000)
    # An event stamped further ahead than this is an absurd value, not a clock skew.
    max_future_skew_s: float = Field(default=300.0, ge=0)
    # An event stamped longer ago than this (default 30 years) is an absurd value: year 1
    # is a producer's zero value, not a customer's history.
    max_event_age_days: float = Field(default=365 * 30, gt=0)
    recent_event_ids: int = Field(default=32, ge=1)
    log_level: str = "WARNING"
    # /readyz: not ready once a partition has been behind this long with no batch of it
    # made durable, or once Redis has been failing this long.
    stall_after_s: float = Field(default=60, gt=0)
    redis_down_after_s: float = Field(default=10, gt=0)

    # The delivery service (crmstream notify; notify/): who gets what where, its consumer
    # group, and how hard it tries before a delivery goes to the delivery dead letters.
    notify_routes_file: Path | None = None
    notify_group: str = "crmstream-notify"
    notify_max_attempts: int = Field(default=5, ge=1)
    notify_retry_base_s: float = Field(default=1.0, gt=0)
    notify_timeout_s: float = Field(default=10.0, gt=0)
    notify_web_port: int = Field(default=6067, ge=0, le=65535)  # /metrics; 0: none

    # Scoring (scoring/, state/churn.py, state/alerts.py). Off: no sentiment, no churn.
    scoring: bool = True
    churn_label_horizon_s: float = Field(default=30 * 86_400, gt=0)
    churn_rescore_after_s: float = Field(default=86_400, gt=0)
    churn_min_events: int = Field(default=2, ge=1)
    score_publish_delta: float = Field(default=0.05, ge=0, le=1)
    churn_alert_high: float = Field(default=0.7, gt=0, le=1)
    churn_alert_low: float = Field(default=0.5, ge=0, le=1)
    churn_alert_critical: float = Field(default=0.9, gt=0, le=1)
    churn_alert_after_labels: int = Field(default=1000, ge=0)
    churn_alert_min_roc_auc: float = Field(default=0.7, ge=0, le=1)
    negative_text_score: float = Field(default=-0.5, ge=-1, le=1)
    high_value_monetary: float = Field(default=5000, ge=0)
    negative_run_length: int = Field(default=3, ge=1)
    alert_cooldown_s: float = Field(default=86_400, ge=0)
    drift_alert_cooldown_s: float = Field(default=3600, ge=0)

    # The numbers (analytics/): each day counted in UTC and in this time zone, kept this
    # many days; a claim converts when won within the window; RFM recency bands (days) and
    # how many ordering customers the frequency and monetary quintiles need.
    business_timezone: str = "Asia/Shanghai"
    conversion_window_days: float = Field(default=30, gt=0)
    stats_retention_days: int = Field(default=400, ge=2)
    rfm_recency_days: tuple[float, float, float, float] = (30, 60, 90, 180)
    rfm_min_customers: int = Field(default=50, ge=1)
    segment_edges_refresh_s: float = Field(default=60, gt=0)
    business_metrics_interval_s: float = Field(default=15, gt=0)

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if not self.churn_alert_low < self.churn_alert_high:
            raise ValueError("churn_alert_low must be below churn_alert_high (the hysteresis)")
        if self.churn_min_events > self.recent_event_ids:
            # counted in the customer's remembered event ids, which keep this many
            raise ValueError("churn_min_events must not exceed recent_event_ids")
        if len(self.console_secret.get_secret_value().encode()) < 32:
            # HS256 wants a key of at least its hash's size (RFC 7518, 3.2)
            raise ValueError("console_secret must be at least 32 bytes")
        try:
            ZoneInfo(self.business_timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"business_timezone {self.business_timezone!r} is not a time "
                             "zone (e.g. Asia/Shanghai)") from exc
        if list(self.rfm_recency_days) != sorted(set(self.rfm_recency_days)):
            raise ValueError("rfm_recency_days must grow, e.g. 30,60,90,180")
        if self.kafka_behind_lag < self.kafka_caught_up_lag:
            raise ValueError("kafka_behind_lag must not be below kafka_caught_up_lag")
        return self

    @cached_property
    def topics(self) -> Topics:
        return Topics(self.topic_prefix)

    def redacted(self) -> dict[str, object]:
        """The settings as they may be logged: secrets stay masked."""
        return self.model_dump(mode="json")
