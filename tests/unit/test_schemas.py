"""The committed JSON Schema files match the models, times are kept in UTC, and settings
never leak secrets."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crmstream.settings import Settings
from schemas.events import Click
from schemas.export import JSON_DIR, rendered


@pytest.mark.parametrize(("file_name", "text"), sorted(rendered().items()))
def test_committed_json_schema_is_current(file_name: str, text: str) -> None:
    path = JSON_DIR / file_name
    assert path.exists(), f"{file_name} missing: run `make schemas`"
    assert path.read_text(encoding="utf-8") == text, f"{file_name} is stale: run `make schemas`"


def test_secrets_are_masked_when_settings_are_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRMSTREAM_REDIS_URL", "rediss://:hunter2@redis.internal:6380/0")
    monkeypatch.setenv("CRMSTREAM_KAFKA_SASL_PASSWORD", "s3cret")
    monkeypatch.setenv("CRMSTREAM_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    settings = Settings()
    shown = repr(settings) + str(settings.redacted())
    assert "hunter2" not in shown
    assert "s3cret" not in shown
    assert settings.redis_url.get_secret_value().startswith("rediss://")


def test_an_invalid_setting_is_reported_without_quoting_any_secret(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRMSTREAM_REDIS_URL", "rediss://:hunter2@redis.internal:6380/0")
    monkeypatch.setenv("CRMSTREAM_CONSOLE_SECRET", "too-short-s3cret")
    with pytest.raises(ValueError, match="at least 32 bytes") as refused:
        Settings()
    assert "s3cret" not in str(refused.value)
    assert "hunter2" not in str(refused.value)


def test_topic_prefix_renames_every_topic() -> None:
    topics = Settings(topic_prefix="acme.").topics
    assert all(t.startswith("acme.") for t in (*topics.inputs, *topics.outputs))


def test_times_are_kept_in_pythons_own_utc() -> None:
    # pydantic's own TzInfo makes every comparison ~10 times slower (pydantic#7897).
    click = Click.model_validate_json(
        '{"event_id": "e1", "customer_id": "c1", "occurred_at": "2026-11-22T18:00:00+08:00",'
        ' "session_id": "s1", "page": "/pricing"}')
    assert click.occurred_at == datetime(2026, 11, 22, 10, tzinfo=UTC)
    assert click.occurred_at.tzinfo is UTC


@pytest.mark.parametrize(("fields", "problem"), [
    ({"churn_alert_low": 0.8, "churn_alert_high": 0.7}, "hysteresis"),
    ({"churn_min_events": 5, "recent_event_ids": 4}, "churn_min_events"),
])
def test_settings_that_contradict_each_other_are_refused(fields: dict[str, float],
                                                          problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        Settings(**fields)  # type: ignore[arg-type]
