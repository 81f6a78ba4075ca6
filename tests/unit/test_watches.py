"""What a committed batch tells the open pages, and which pages it concerns."""

from __future__ import annotations

import pytest

from schemas.outputs import StateChanged
from state.changes import state_changes
from state.customer import CustomerState, new_customer
from state.store import Change
from tests.factories import T0
from tests.unit.test_access import RULES
from web.identity import Identity
from web.watches import Page, page_watch


def customer(cid: str, pool: str = "east", owner: str | None = None) -> CustomerState:
    state = new_customer(cid, pool, "A", T0)
    return state.model_copy(update={"owner": owner, "status": "owned"}) if owner else state


def test_a_batch_tells_each_partition_its_customers_their_owners_and_pools() -> None:
    signals = state_changes([
        Change(customer("c1", owner="rep-1"), customer("c1", owner="rep-2"), 3),  # transfer
        Change(None, customer("c2", "west"), 3),  # new, waiting
        Change(customer("c3", owner="rep-1"), customer("c3"), 5),  # reclaimed
    ])
    assert signals == {
        3: StateChanged(reps=("rep-1", "rep-2"), customers=("c1", "c2"),
                        pools=("east", "west")),
        5: StateChanged(reps=("rep-1",), customers=("c3",), pools=("east",)),
    }
    assert state_changes([]) == {}


TRANSFER_TO_REP_2 = StateChanged(reps=("rep-1", "rep-2"), customers=("c1",), pools=("east",))
NEW_IN_WEST = StateChanged(customers=("c9",), pools=("west",))


@pytest.mark.parametrize(("role", "person", "page", "customer_id", "changed", "concerned"), [
    ("rep", "rep-2", "rep", "", TRANSFER_TO_REP_2, True),  # it arrived in My customers
    ("rep", "rep-3", "rep", "", TRANSFER_TO_REP_2, False),
    ("rep", "rep-3", "pool", "", TRANSFER_TO_REP_2, True),  # a member of east (its team)
    ("rep", "rep-9", "pool", "", TRANSFER_TO_REP_2, False),
    ("rep", "rep-9", "pool", "", NEW_IN_WEST, True),
    ("manager", "mgr-east", "team", "", TRANSFER_TO_REP_2, True),
    ("manager", "mgr-west", "team", "", TRANSFER_TO_REP_2, False),
    ("admin", "adm-east", "admin", "", TRANSFER_TO_REP_2, True),
    ("admin", "adm-east", "admin", "", NEW_IN_WEST, False),
    ("ops", "ops-1", "customer", "c1", TRANSFER_TO_REP_2, True),
    ("ops", "ops-1", "customer", "c2", TRANSFER_TO_REP_2, False),
    ("manager", "mgr-west", "numbers", "", TRANSFER_TO_REP_2, True),  # every change counts
    ("ops", "ops-1", "numbers", "", NEW_IN_WEST, True),
])
def test_a_change_concerns_the_pages_that_show_it(
    role: str, person: str, page: Page, customer_id: str, changed: StateChanged,
    concerned: bool,
) -> None:
    who = Identity(person=person, role=role)  # type: ignore[arg-type]
    assert page_watch(who, page, RULES, customer_id).concerns(changed) is concerned
