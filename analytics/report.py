"""The report managers read, made from the summed numbers (analytics/stats_store.py): pure.

One window of ``days`` days ending today (in UTC or the business time zone) against the
window before it, today against yesterday, the conversions, the loss analysis, the
segments and what stands now, optionally for one pool, level or team. The README defines
each number; the console's API serves this model as JSON and ``crmstream report`` prints it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Literal, NamedTuple
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from state.keys import NOW
from state.loss import LOSS_SIGNALS, LOSS_STAGES
from state.segments import SEGMENTS

Zone = Literal["utc", "local"]
FLOWS = (
    "new", "won", "lost", "won_back", "reclaimed", "claimed", "assigned", "transferred",
    "released", "follow_ups", "orders_placed", "orders_paid", "orders_refunded",
    "paid_amount", "refunded_amount", "first_paid", "unanswered", "unanswered_escalated",
)
MONEY = {"paid_amount": "paid_cents", "refunded_amount": "refunded_cents"}
# name: (the step counted on its day, the part of it that converted)
CONVERSIONS = {
    "registration_to_paid": ("new", "registered_then_paid"),
    "claim_to_won": ("claimed", "claimed_then_won"),
    "reclaim_to_won": ("reclaimed", "reclaimed_then_won"),
}
DIMENSIONS = ("pool", "level", "team")
HEADLINE = ("new", "won", "lost", "reclaimed", "claimed", "follow_ups", "orders_paid",
            "paid_amount")


class Where(NamedTuple):
    """Only the numbers of one pool, level and/or owner's team (None: all)."""

    pool: str | None = None
    level: str | None = None
    team: str | None = None


EVERYTHING = Where()


class Compared(BaseModel):
    current: float
    previous: float
    change: float | None  # current / previous - 1; None when there was nothing before


class Conversion(BaseModel):
    base: int  # the steps of the window (registrations, claims, reclaims)
    converted: int  # of those, the ones that converted so far
    rate: float | None
    previous_rate: float | None


class Ranked(BaseModel):
    name: str
    count: int
    share: float  # of the losses (a loss shows several signals) or of the moves


class LossAnalysis(BaseModel):
    lost: int
    by_cause: dict[str, int]
    stages: list[Ranked]  # "stage:paid|unpaid", most losses first
    reasons: list[Ranked]  # signals shown at the loss, most frequent first
    drivers: list[Ranked]  # the churn model's strongest features at the loss
    days_from_first_follow_up: dict[str, int]
    mean_days_from_first_follow_up: float | None
    alerted: int
    acknowledged: int
    followed_up_after_alert: int
    won_back: int


class Segments(BaseModel):
    counts: dict[str, int]
    moves: list[Ranked]  # "from>to" within the window, most first


class Standing(BaseModel):
    customers: int
    by_status: dict[str, int]
    by_level: dict[str, int]
    by_pool: dict[str, int]
    by_team: dict[str, int]
    unanswered_by_level: dict[str, int]


class Day(BaseModel):
    day: str
    counts: dict[str, float]  # the headline numbers
    conversion: dict[str, Conversion]  # each one's base and converted of the day


class Report(BaseModel):
    zone: Zone
    today: str
    days: int
    where: dict[str, str]
    window: dict[str, Compared]  # the last ``days`` days against the ``days`` before
    today_vs_yesterday: dict[str, Compared]
    conversion: dict[str, Conversion]
    loss: LossAnalysis
    segments: Segments
    standing: Standing
    by_dimension: dict[str, dict[str, dict[str, float]]]  # dimension -> value -> headline
    daily: list[Day]  # oldest first


def today_in(zone: Zone, business_zone: ZoneInfo, now: datetime) -> date:
    """The day ``now`` falls on in the report's zone (UTC, or the business time zone)."""
    return (now.astimezone(UTC) if zone == "utc" else now.astimezone(business_zone)).date()


def day_periods(zone: Zone, today: date, days: int) -> list[str]:
    """The periods a report of ``days`` days reads: its window and the one before, oldest
    first."""
    return [f"{zone}:{today - timedelta(days=n):%Y-%m-%d}" for n in range(2 * days - 1, -1, -1)]


class _Field(NamedTuple):
    metric: str
    pool: str
    level: str
    team: str


def _parse(name: str) -> _Field | None:
    parts = name.split("|")
    return _Field(*parts) if len(parts) == 4 else None


def _matches(field: _Field, where: Where) -> bool:
    return ((where.pool is None or field.pool == where.pool)
            and (where.level is None or field.level == where.level)
            and (where.team is None or field.team == where.team))


def _metrics(counts: Mapping[str, int], where: Where,
             key: Callable[[_Field], str] = lambda f: f.metric) -> dict[str, int]:
    out: dict[str, int] = {}
    for name, n in counts.items():
        field = _parse(name)
        if field is not None and _matches(field, where):
            k = key(field)
            out[k] = out.get(k, 0) + n
    return out


def _value(metrics: Mapping[str, int], name: str) -> float:
    if name in MONEY:
        return metrics.get(MONEY[name], 0) / 100
    return float(metrics.get(name, 0))


def _compared(current: float, previous: float) -> Compared:
    change = None if previous == 0 else round(current / previous - 1, 4)
    return Compared(current=current, previous=previous, change=change)


def _rate(base: int, part: int) -> float | None:
    return None if base == 0 else round(part / base, 4)


def _sum(days: Iterable[Mapping[str, int]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for counts in days:
        for name, n in counts.items():
            out[name] = out.get(name, 0) + n
    return out


def _ranked(counts: Mapping[str, int], prefix: str, of: int,
            order: tuple[str, ...] = ()) -> list[Ranked]:
    found = {name[len(prefix):]: n for name, n in counts.items()
             if name.startswith(prefix) and n}
    rank = {name: i for i, name in enumerate(order)}
    return [Ranked(name=name, count=n, share=round(n / of, 4) if of else 0.0)
            for name, n in sorted(found.items(),
                                  key=lambda kv: (-kv[1], rank.get(kv[0].split(":")[0], 99),
                                                  kv[0]))]


def _loss(window: Mapping[str, int]) -> LossAnalysis:
    lost = window.get("lost", 0)
    dated = lost - window.get("lost_days:never_followed_up", 0)
    seconds = window.get("lost_follow_up_seconds", 0)
    return LossAnalysis(
        lost=lost,
        by_cause={name[len("lost_cause:"):]: n for name, n in window.items()
                  if name.startswith("lost_cause:")},
        stages=_ranked(window, "lost_stage:", lost, LOSS_STAGES),
        reasons=_ranked(window, "lost_signal:", lost, LOSS_SIGNALS),
        drivers=_ranked(window, "lost_driver:", lost),
        days_from_first_follow_up={name[len("lost_days:"):]: n for name, n in window.items()
                                   if name.startswith("lost_days:")},
        mean_days_from_first_follow_up=(round(seconds / 86_400 / dated, 4) if dated > 0
                                        else None),
        alerted=window.get("lost_alerted", 0),
        acknowledged=window.get("lost_acknowledged", 0),
        followed_up_after_alert=window.get("lost_followed_up_after_alert", 0),
        won_back=window.get("won_back", 0),
    )


def _standing(counts: Mapping[str, int], where: Where) -> Standing:
    def by(key: Callable[[_Field], str], prefix: str = "customers:") -> dict[str, int]:
        out: dict[str, int] = {}
        for name, n in counts.items():
            field = _parse(name)
            if field is not None and field.metric.startswith(prefix) and _matches(field, where):
                k = key(field)
                out[k] = out.get(k, 0) + n
        return {k: n for k, n in sorted(out.items()) if n}

    statuses = by(lambda f: f.metric.split(":", 1)[1])
    return Standing(
        customers=sum(statuses.values()), by_status=statuses,
        by_level=by(lambda f: f.level), by_pool=by(lambda f: f.pool),
        by_team=by(lambda f: f.team),
        unanswered_by_level=by(lambda f: f.level, "unanswered_now"),
    )


def _conversions(current: Mapping[str, int], before: Mapping[str, int] | None = None
                 ) -> dict[str, Conversion]:
    return {name: Conversion(
        base=current.get(base, 0), converted=current.get(part, 0),
        rate=_rate(current.get(base, 0), current.get(part, 0)),
        previous_rate=None if before is None else _rate(before.get(base, 0),
                                                        before.get(part, 0)))
        for name, (base, part) in CONVERSIONS.items()}


def _headline_by(fields: Mapping[str, int], dimension: str, where: Where
                 ) -> dict[str, dict[str, float]]:
    """The headline numbers per value of one dimension (pool, level or team)."""
    table: dict[str, dict[str, int]] = {}
    for name, n in fields.items():
        field = _parse(name)
        if field is not None and _matches(field, where):
            metrics = table.setdefault(getattr(field, dimension), {})
            metrics[field.metric] = metrics.get(field.metric, 0) + n
    return {value: {name: _value(metrics, name) for name in HEADLINE}
            for value, metrics in sorted(table.items())}


def build(sums: Mapping[str, Mapping[str, int]], zone: Zone, today: date, days: int,
          where: Where = EVERYTHING) -> Report:
    """The report over ``sums`` (period -> field -> count, as ``StatsStore.summed`` reads
    ``day_periods(zone, today, days)`` and ``now``)."""
    periods = day_periods(zone, today, days)
    per_day = [_metrics(sums.get(p, {}), where) for p in periods]
    before, current = _sum(per_day[:days]), _sum(per_day[days:])
    yesterday, today_counts = per_day[-2] if len(per_day) > 1 else {}, per_day[-1]
    standing_counts = sums.get(NOW, {})
    segment_counts = _metrics(standing_counts, where)
    conversion = _conversions(current, before)
    moves = sum(n for name, n in current.items() if name.startswith("segment_move:"))
    window_fields = _sum(sums.get(p, {}) for p in periods[days:])
    by_dimension = {dimension: _headline_by(window_fields, dimension, where)
                    for dimension in DIMENSIONS}
    return Report(
        zone=zone, today=f"{today:%Y-%m-%d}", days=days,
        where={k: v for k, v in where._asdict().items() if v is not None},
        window={name: _compared(_value(current, name), _value(before, name)) for name in FLOWS},
        today_vs_yesterday={name: _compared(_value(today_counts, name),
                                            _value(yesterday, name)) for name in FLOWS},
        conversion=conversion,
        loss=_loss(current),
        segments=Segments(
            counts={name: segment_counts.get(f"segment:{name}", 0) for name in SEGMENTS},
            moves=_ranked(current, "segment_move:", moves)),
        standing=_standing(standing_counts, where),
        by_dimension=by_dimension,
        daily=[Day(day=p.split(":", 1)[1],
                   counts={name: _value(counts, name) for name in HEADLINE},
                   conversion=_conversions(counts))
               for p, counts in zip(periods[days:], per_day[days:], strict=True)],
    )
