"""What a rep's page shows, before any browser: the order of its customers and the warning
times that colour their countdowns."""

from __future__ import annotations

from datetime import timedelta

from state.customer import CustomerState, new_customer
from state.pool_rules import Pool, PoolRules
from tests.factories import T0
from web.openapi import openapi
from web.pages import TEMPLATES
from web.views import rows, team

RULES = PoolRules(levels=["A"], default_pool="p", pools=[
    Pool(id="p", name="公海", auto_reclaim=False, managers=["m"],
         warn_before=timedelta(hours=1),
         manager_warn_before=timedelta(minutes=10))])


def customer(cid: str, due_in: timedelta | None, name: str | None = None) -> CustomerState:
    state = new_customer(cid, "p", "A", T0)
    return state.model_copy(update={"deadline": T0 + due_in if due_in else None, "name": name})


def test_soonest_deadline_first_and_the_pools_warning_times() -> None:
    shown = rows([customer("later", timedelta(days=2)), customer("never", None),
                  customer("soon", timedelta(minutes=5))], RULES)
    assert [r.customer_id for r in shown] == ["soon", "later", "never"]
    assert (shown[0].warn_s, shown[0].manager_warn_s) == (3600, 600)


def test_names_are_escaped() -> None:
    shown = rows([customer("c1", timedelta(hours=2), name="<script>x</script>")],
                 RULES)
    html = TEMPLATES.get_template("customer_rows.html").render(customers=shown)
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


def test_a_managers_team_counts_what_is_slipping() -> None:
    def owned(cid: str, due_in: timedelta | None) -> CustomerState:
        return customer(cid, due_in).model_copy(update={"owner": "rep-1"})

    members, slipping = team({
        "rep-1": [owned("calm", timedelta(hours=3)), owned("warned", timedelta(minutes=30)),
                  owned("manager", timedelta(minutes=5)), owned("late", -timedelta(minutes=1)),
                  owned("never", None)],
        "rep-2": [],
    }, RULES, T0)
    assert [(m.rep_id, m.held, m.warned, m.manager_warned, m.overdue) for m in members] == [
        ("rep-1", 5, 2, 1, 1), ("rep-2", 0, 0, 0, 0)]
    assert [r.customer_id for r in slipping] == ["late", "manager", "warned"]


def test_the_readme_documents_every_route_of_the_pages_api() -> None:
    from pathlib import Path
    from unittest.mock import MagicMock

    from web.pages import Console

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    console = Console(MagicMock(), MagicMock(), MagicMock(), MagicMock(), RULES, MagicMock())
    routes = console.post_routes()
    documented = {line.split("`")[1] for line in readme.splitlines()
                  if line.startswith("| `/console/api/")}
    assert documented == set(routes)


def test_the_openapi_description_has_every_route_with_the_model_it_validates_with() -> None:
    from unittest.mock import MagicMock

    from web.pages import Console

    console = Console(MagicMock(), MagicMock(), MagicMock(), MagicMock(), RULES, MagicMock())
    routes = {path: (model, summary)
              for path, (_, model, summary) in console.post_routes().items()}
    spec = openapi(routes)
    assert set(spec["paths"]) == set(routes)
    claim = spec["paths"]["/console/api/claim"]["post"]
    ref = claim["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert set(schema["required"]) == {"customer_id", "pool_id", "request_id"}
    assert "rep_id" not in schema["properties"]  # a claim never names who claims
    assert {"401", "403"} <= set(claim["responses"])
    from analytics.report import Report
    from web import numbers

    with_reads = openapi(routes, {numbers.API: (Report, numbers.API_SUMMARY,
                                                numbers.API_QUERY)})
    read = with_reads["paths"][numbers.API]["get"]
    assert [p["name"] for p in read["parameters"]] == ["days", "zone", "pool", "level", "team"]
    assert "LossAnalysis" in with_reads["components"]["schemas"]
