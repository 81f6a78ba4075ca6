"""The shared pool: reclaim deadlines, warnings, claims, the recycle bin, the rules file."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from schemas.outputs import Notice
from state.customer import CustomerState
from state.engine import on_event, on_timer
from state.pool_rules import PoolRules, PoolRulesError, load_pool_rules
from state.timers import next_timer
from state.transitions import Event, Policy
from tests.factories import T0, command, interaction, order

RULES = PoolRules.model_validate({
    "levels": ["A", "B", "C"],
    "default_pool": "public",
    "teams": {"east": ["rep-e1", "rep-e2"]},
    "pools": [
        {"id": "public", "name": "Public", "managers": ["mgr"],
         "rules": [
             {"type": "no_follow_up", "periods": {"A": "30d", "B": "15d", "C": "7d"}},
             {"type": "no_deal", "period": "60d", "exempt_open_orders": True},
         ],
         "warn_before": "24h", "manager_warn_before": "12h",
         "claim": {"previous_owner_cooldown": "3d", "new_customer_cooldown": "1h"}},
        {"id": "east", "name": "East", "members": ["team:east"],
         "rules": [{"type": "no_follow_up", "period": "14d"}], "reclaim_to": "public"},
        {"id": "vault", "name": "Vault", "auto_reclaim": False},
    ],
})
POLICY = Policy(rules=RULES, level="C")
DAY = timedelta(days=1)


def at(days: float = 0, hours: float = 0) -> Any:
    return T0 + timedelta(days=days, hours=hours)


def run(*events: Event, now: Any = T0) -> CustomerState:
    state: CustomerState | None = None
    for event in events:
        state = on_event(state, event, now, POLICY).state
    assert state is not None
    return state


def owned(level: str = "C", pool: str = "public", rep: str = "rep-1") -> Event:
    return command("register", pool_id=pool, level=level, name="ACME", owner=rep)


# --- when a reclaim is due ----------------------------------------------------------------

@pytest.mark.parametrize(
    ("events", "reclaim_at"),
    [
        ([owned("C")], at(7)),
        ([owned("B")], at(15)),
        ([owned("A")], at(30)),
        # a follow-up by the owner restarts the clock from the follow-up
        ([owned("C"), interaction(rep_id="rep-1", occurred_at=at(5))], at(12)),
        # ...one by someone else, or inbound, does not
        ([owned("C"), interaction(rep_id="rep-9", occurred_at=at(5))], at(7)),
        ([owned("C"), interaction(direction="inbound", occurred_at=at(5))], at(7)),
        # after 60 days with follow-ups, "no deal" comes due
        ([owned("A"), interaction(rep_id="rep-1", occurred_at=at(45))], at(60)),
        # an open order exempts from "no deal" (not from "no follow-up")
        ([owned("A"), order(occurred_at=at(1)), interaction(rep_id="rep-1", occurred_at=at(45))],
         at(75)),
        # a paid order since the owner received it cancels "no deal"
        ([owned("A"), order(status="paid", occurred_at=at(1)),
          interaction(rep_id="rep-1", occurred_at=at(50))], at(80)),
        # a claim, a transfer, an assignment restart the clock
        ([owned("C"), command("transfer", to_rep_id="rep-2", issued_at=at(3))], at(10)),
        # locked, pooled, in the recycle bin, or in a pool that never reclaims: no clock
        ([owned("C"), command("lock")], None),
        ([owned("C"), command("release", pool_id="public", reason="x")], None),
        ([owned("C"), command("freeze")], None),
        ([owned("C", pool="vault")], None),
        # won customers are exempt from the rules that say so (both do, by default)
        ([owned("C"), command("mark_won")], None),
        # the east pool's own period
        ([owned("C", pool="east", rep="rep-e1")], at(14)),
    ],
)
def test_reclaim_deadline(events: list[Event], reclaim_at: Any) -> None:
    state = run(*events)
    assert state.deadline == reclaim_at


def test_timers_come_in_order_warning_manager_then_reclaim() -> None:
    state = run(owned("C"))
    seen = []
    for _ in range(3):
        timer = next_timer(state, RULES)
        assert timer is not None
        outcome = on_timer(state, timer.at, POLICY)
        seen.append((timer.kind, timer.at,
                     sorted((n.type, n.rep_id) for n in outcome.effects)))  # type: ignore[union-attr]
        state = outcome.state
    assert seen == [
        ("warning", at(6), [("reclaim_warning", "rep-1")]),
        ("manager_warning", at(6, 12), [("reclaim_warning", "mgr")]),
        ("reclaim", at(7), [("reclaimed", "rep-1")]),
    ]
    assert (state.owner, state.status, state.pooled_since) == (None, "pooled", at(7))
    last = state.history[-1]
    assert (last.from_rep, last.to_rep, last.reason, last.actor) == (
        "rep-1", None, "no follow-up for 7d", "crmstream")
    assert state.timer_at is None


def test_a_warning_carries_the_deadline() -> None:
    state = run(owned("C"))
    [warning] = on_timer(state, at(6), POLICY).effects
    assert isinstance(warning, Notice)
    assert warning.deadline == at(7)


def test_a_timer_that_is_not_due_or_stale_changes_nothing() -> None:
    state = run(owned("C"))
    assert not on_timer(state, at(5), POLICY).changed
    followed_up = on_event(state, interaction(rep_id="rep-1", occurred_at=at(6, -1)), at(6),
                           POLICY).state
    # the old warning time passed, but the follow-up moved every timer
    assert not on_timer(followed_up, at(6, 1), POLICY).changed


def test_reclaim_into_the_target_pool() -> None:
    state = run(owned("C", pool="east", rep="rep-e1"), command("lock"), command("unlock"))
    outcome = on_timer(state, at(14), POLICY)
    assert (outcome.state.pool_id, outcome.state.owner) == ("public", None)


def test_replaying_a_timer_repeats_the_same_notice_ids() -> None:
    state = run(owned("C"))
    first = on_timer(state, at(7, 1), POLICY)
    again = on_timer(state, at(7, 2), POLICY)
    assert [n.notice_id for n in first.effects] == [n.notice_id for n in again.effects]  # type: ignore[union-attr]


# --- claims -------------------------------------------------------------------------------

def pooled(pool: str = "public") -> CustomerState:
    return run(owned("C", pool=pool, rep="rep-0"),
               command("release", pool_id=pool, reason="no budget", issued_at=T0))


@pytest.mark.parametrize(
    ("pool", "rep", "now", "refusal"),
    [
        ("public", "rep-1", at(0, 2), None),
        ("public", "rep-1", at(0, 0.5), "cooldown: newly pooled"),
        ("public", "rep-0", at(1), "cooldown: a previous owner"),
        ("public", "rep-0", at(4), None),
        ("east", "rep-e2", at(0, 2), None),
        ("east", "rep-1", at(0, 2), "not a member of pool 'east'"),
    ],
)
def test_claim_rules(pool: str, rep: str, now: Any, refusal: str | None) -> None:
    outcome = on_event(pooled(pool), command("claim", rep_id=rep, actor=rep), now, POLICY)
    if refusal is None:
        assert outcome.rejection is None
        assert outcome.state.owner == rep
    else:
        assert outcome.rejection is not None
        assert outcome.rejection.startswith(refusal)
        [n] = outcome.effects
        assert (n.type, n.rep_id) == ("rejected", rep)  # type: ignore[union-attr]


@pytest.mark.parametrize("bin_command", ["freeze", "discard"])
def test_the_recycle_bin_is_never_claimed_nor_reclaimed_and_can_be_restored(
    bin_command: str,
) -> None:
    binned = run(owned("C"), command(bin_command))
    assert binned.timer_at is None
    refused = on_event(binned, command("claim", rep_id="rep-2"), at(2), POLICY)
    assert refused.rejection == "customer is in the recycle bin"
    restored = on_event(binned, command("restore"), at(2), POLICY).state
    assert restored.status == "pooled"
    assert on_event(restored, command("claim", rep_id="rep-2"), at(2), POLICY).state.owner == (
        "rep-2")


@pytest.mark.parametrize(
    ("event", "refusal"),
    [
        (command("register", pool_id="mars", level="C", name="x"), "unknown pool 'mars'"),
        (command("register", pool_id="public", level="Z", name="x"), "unknown level 'Z'"),
        (command("move_pool", pool_id="mars"), "unknown pool 'mars'"),
    ],
)
def test_unknown_pools_and_levels_are_refused(event: Event, refusal: str) -> None:
    assert on_event(run(owned()), event, T0, POLICY).rejection == refusal


# --- the rules file -----------------------------------------------------------------------

@pytest.mark.parametrize(
    ("yaml_text", "complaint"),
    [
        ("levels: [A]\ndefault_pool: p\npools:\n - {id: p, name: P, rules: "
         "[{type: no_follow_up, period: 0d}]}", "a period of 0 never means disabled"),
        ("levels: [A]\ndefault_pool: p\npools:\n - {id: p, name: P, rules: "
         "[{type: no_follow_up, periods: {B: 3d}}]}", "unknown levels ['B']"),
        ("levels: [A]\ndefault_pool: q\npools:\n - {id: p, name: P, auto_reclaim: false}",
         "default_pool 'q' is not a pool"),
        ("levels: [A]\ndefault_pool: p\npools:\n - {id: p, name: P, reclaim_to: z, "
         "auto_reclaim: false}", "reclaim_to 'z' is not a pool"),
        ("levels: [A]\ndefault_pool: p\npools:\n - {id: p, name: P, warn_before: 3d, rules: "
         "[{type: no_follow_up, period: 2d}]}", "the warning could never come before"),
        ("levels: [A]\ndefault_pool: p\npools:\n - {id: p, name: P}",
         "auto_reclaim is on but there are no rules"),
        ("levels: [A]\ndefault_pool: p\npools:\n - {id: p, name: P, members: [team:x], "
         "auto_reclaim: false}", "unknown team 'x'"),
        ("levels: [A]\ndefault_pool: p\npools:\n - {id: p, name: P, auto_reclaim: false, "
         "rules: [{type: no_follow_up, period: soon}]}", "not a duration"),
        ("levels: [A]\ndefault_pool: p\npools:\n - {id: p, name: P, auto_reclaim: false, "
         "colour: red}", "Extra inputs are not permitted"),
        ("levels: [A\n", "not valid YAML"),
    ],
)
def test_a_bad_rules_file_is_an_error_that_says_where(
    tmp_path: Path, yaml_text: str, complaint: str
) -> None:
    path = tmp_path / "rules.yml"
    path.write_text(yaml_text)
    with pytest.raises(PoolRulesError) as error:
        load_pool_rules(path)
    assert complaint in str(error.value)


@pytest.mark.parametrize("name", ["pool-rules.yml", "pool-rules.demo.yml"])
def test_the_shipped_rules_files_are_valid(name: str) -> None:
    rules = load_pool_rules(Path(__file__).resolve().parents[2] / "deploy" / name)
    assert rules.pool(rules.default_pool) is not None


# --- auto-assignment ----------------------------------------------------------------------

ASSIGNING = PoolRules.model_validate({
    "levels": ["C"], "default_pool": "rr", "max_customers_per_rep": 3,
    "teams": {"t": ["r1", "r2", "r3"]},
    "pools": [
        {"id": "rr", "name": "RR", "members": ["team:t"], "auto_assign": "round_robin",
         "rules": [{"type": "no_follow_up", "period": "1d"}]},
        {"id": "ll", "name": "LL", "members": ["r1", "r2", "r3"], "auto_assign": "least_loaded",
         "rules": [{"type": "no_follow_up", "period": "1d"}],
         "claim": {"max_customers_per_rep": 2}},
    ],
})


@pytest.mark.parametrize(
    ("pool", "held", "turn", "previous", "chosen"),
    [
        ("ll", {"r1": 1, "r2": 0, "r3": 1}, 0, None, "r2"),
        ("ll", {"r1": 0, "r2": 0, "r3": 0}, 0, "r1", "r2"),  # never back to the one it left
        ("ll", {"r1": 2, "r2": 2, "r3": 1}, 0, None, "r3"),  # r1, r2 at the pool's limit
        ("ll", {"r1": 2, "r2": 2, "r3": 2}, 0, None, None),  # everyone at a limit
        ("rr", {}, 0, None, "r1"),
        ("rr", {}, 1, None, "r2"),
        ("rr", {}, 5, None, "r3"),
        ("rr", {"r2": 3}, 1, None, "r3"),  # r2 at the overall limit
        ("rr", {}, 0, "r1", "r2"),
    ],
)
def test_who_gets_an_auto_assigned_customer(
    pool: str, held: dict[str, int], turn: int, previous: str | None, chosen: str | None
) -> None:
    from state.assignment import choose

    found = ASSIGNING.pool(pool)
    assert found is not None
    assert choose(ASSIGNING, found, dict(held), turn, previous) == chosen


def test_auto_assign_needs_members() -> None:
    with pytest.raises(ValueError, match="auto_assign needs members"):
        PoolRules.model_validate({
            "levels": ["C"], "default_pool": "p",
            "pools": [{"id": "p", "name": "P", "auto_assign": "least_loaded",
                       "rules": [{"type": "no_follow_up", "period": "1d"}]}],
        })


def test_a_reclaim_with_an_assignee_is_reclaimed_then_assigned() -> None:
    policy = Policy(rules=ASSIGNING, level="C")
    state = on_event(None, command("register", pool_id="ll", level="C", name="n", owner="r1"),
                     T0, policy).state
    outcome = on_timer(state, at(1), policy, assignee="r2")
    assert outcome.state.owner == "r2"
    assert [(h.from_rep, h.to_rep, h.reason) for h in outcome.state.history[-2:]] == [
        ("r1", None, "no follow-up for 1d"), (None, "r2", "auto-assigned")]
    assert sorted((n.type, n.rep_id) for n in outcome.effects) == [  # type: ignore[union-attr]
        ("assigned", "r2"), ("reclaimed", "r1")]
    assert outcome.state.deadline == at(2)  # the new owner's clock starts now
