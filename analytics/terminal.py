"""``crmstream report``: the report as terminal tables (the same numbers as the API)."""

from __future__ import annotations

from analytics.report import HEADLINE, Report


def _pct(x: float | None, signed: bool = False) -> str:
    if x is None:
        return "–"
    return f"{x * 100:+.0f}%" if signed else f"{x * 100:.1f}%"


def _num(x: float) -> str:
    return f"{x:,.0f}" if x == round(x) else f"{x:,.2f}"


def _days(x: float | None) -> str:
    return "–" if x is None else f"{x:.2f}"


def _table(title: str, header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    if not rows:
        return [title, "  (none)", ""]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: tuple[str, ...]) -> str:
        first, *rest = cells
        return "  " + "  ".join([first.ljust(widths[0]),
                                 *(c.rjust(w) for c, w in zip(rest, widths[1:], strict=True))])

    return [title, line(header), "  " + "  ".join("-" * w for w in widths),
            *map(line, rows), ""]


def render(report: Report) -> str:
    where = " ".join(f"{k}={v}" for k, v in report.where.items()) or "all"
    out = [f"crmstream numbers · {report.today} ({report.zone}) · last {report.days} days · "
           f"{where}", ""]
    out += _table("Flows", ("metric", f"last {report.days}d", "before", "change", "today",
                            "yesterday"), [
        (name, _num(report.window[name].current), _num(report.window[name].previous),
         _pct(report.window[name].change, signed=True),
         _num(report.today_vs_yesterday[name].current),
         _num(report.today_vs_yesterday[name].previous))
        for name in report.window])
    out += _table("Conversion", ("path", "base", "converted", "rate", "before"), [
        (name, str(c.base), str(c.converted), _pct(c.rate), _pct(c.previous_rate))
        for name, c in report.conversion.items()])
    loss = report.loss
    out += _table(f"Losses by stage ({loss.lost} lost; alerted {loss.alerted}, "
                  f"acknowledged {loss.acknowledged}, followed up after the alert "
                  f"{loss.followed_up_after_alert}, won back {loss.won_back}; mean days from "
                  f"the first follow-up {_days(loss.mean_days_from_first_follow_up)})",
                  ("stage", "lost", "share"),
                  [(r.name, str(r.count), _pct(r.share)) for r in loss.stages])
    out += _table("Loss reasons", ("signal", "lost", "share"),
                  [(r.name, str(r.count), _pct(r.share))
                   for r in [*loss.reasons, *loss.drivers]])
    out += _table("Segments now", ("segment", "customers"),
                  [(name, str(n)) for name, n in report.segments.counts.items()])
    out += _table("Segment moves", ("move", "customers"),
                  [(r.name, str(r.count)) for r in report.segments.moves[:10]])
    standing = report.standing
    out += _table(f"Customers now ({standing.customers})", ("status", "customers"),
                  [(status, str(n)) for status, n in standing.by_status.items()])
    out += _table("Unanswered now", ("level", "customers"),
                  [(level, str(n)) for level, n in standing.unanswered_by_level.items()])
    out += _table("By team", ("team", *HEADLINE), [
        (team, *(_num(row[name]) for name in HEADLINE))
        for team, row in report.by_dimension["team"].items()])
    return "\n".join(out)


def one_line(report: Report) -> str:
    """Today's headline, for watching the numbers move."""
    today = report.today_vs_yesterday
    stages = report.loss.stages
    worst = f" (most {stages[0].name})" if stages else ""
    conversion = report.conversion["registration_to_paid"].rate
    return (f"{report.today} ({report.zone}) today: new {_num(today['new'].current)}, "
            f"won {_num(today['won'].current)}, lost {_num(today['lost'].current)}{worst}, "
            f"reclaimed {_num(today['reclaimed'].current)}, "
            f"claimed {_num(today['claimed'].current)}, "
            f"follow-ups {_num(today['follow_ups'].current)}, "
            f"paid {_num(today['paid_amount'].current)}, "
            f"unanswered {_num(today['unanswered'].current)}; "
            f"registered→paid {_pct(conversion)}; "
            f"customers now {report.standing.customers:,}")
