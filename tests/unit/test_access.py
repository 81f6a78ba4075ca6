"""Who may see what, and how a request's identity is established."""

from __future__ import annotations

from datetime import timedelta

import pytest

from state.pool_rules import Pool, PoolRules
from tests.factories import T0
from web.access import (
    Action,
    Administer,
    ClaimFrom,
    HandOver,
    ReadAlerts,
    ReadCustomer,
    ReadInbox,
    ReadNumbers,
    ReadTeam,
    refusal,
)
from web.auth import COOKIE, Authenticator
from web.identity import Identity, Role, Unauthenticated, issue, verify

SECRET = "a-test-secret-of-at-least-32-bytes!"
RULES = PoolRules(
    levels=["A"], default_pool="east", teams={"east-team": ["rep-2", "rep-3"]},
    pools=[Pool(id="east", name="华东", members=["rep-1", "team:east-team"],
                managers=["mgr-east"], admins=["adm-east"], auto_reclaim=False),
           Pool(id="west", name="华西", members=["rep-9"], managers=["mgr-west"],
                auto_reclaim=False)],
)


@pytest.mark.parametrize(("role", "person", "action", "allowed"), [
    ("rep", "rep-1", ReadInbox("rep-1"), True),
    ("rep", "rep-1", ReadInbox("rep-2"), False),
    ("manager", "mgr-east", ReadInbox("rep-1"), True),
    ("manager", "mgr-east", ReadInbox("rep-3"), True),  # through its team
    ("manager", "mgr-east", ReadInbox("rep-9"), False),  # another pool's rep
    ("manager", "mgr-west", ReadInbox("rep-9"), True),
    ("admin", "adm-east", ReadInbox("rep-1"), False),
    ("ops", "ops-1", ReadInbox("rep-1"), False),
    ("ops", "ops-1", ReadAlerts(), True),
    ("manager", "mgr-west", ReadAlerts(), True),
    ("rep", "rep-1", ReadAlerts(), False),
    ("admin", "adm-east", ReadAlerts(), False),
    ("manager", "mgr-west", ReadNumbers(), True),
    ("ops", "ops-1", ReadNumbers(), True),
    ("admin", "adm-east", ReadNumbers(), True),
    ("rep", "rep-1", ReadNumbers(), False),
    ("manager", "mgr-east", ReadInbox("mgr-east"), True),  # its own warnings
    ("manager", "mgr-east", ReadTeam(), True),
    ("rep", "rep-1", ReadTeam(), False),
    ("ops", "ops-1", ReadTeam(), False),
    ("rep", "rep-1", ReadCustomer("east", owner="rep-1"), True),
    ("rep", "rep-1", ReadCustomer("east", owner=None), True),  # waiting in its pool
    ("rep", "rep-1", ReadCustomer("east", owner="rep-2"), False),
    ("rep", "rep-1", ReadCustomer("west", owner=None), False),  # another pool's
    ("manager", "mgr-east", ReadCustomer("west", owner="rep-2"), True),  # its team's rep
    ("manager", "mgr-west", ReadCustomer("east", owner="rep-1"), False),
    ("admin", "adm-east", ReadCustomer("east", owner="rep-1"), True),
    ("admin", "adm-east", ReadCustomer("west", owner=None), False),
    ("ops", "ops-1", ReadCustomer("west", owner="rep-9"), True),
    ("admin", "adm-east", Administer("east"), True),
    ("admin", "adm-east", Administer("west"), False),
    ("manager", "mgr-east", Administer("east"), False),
    ("rep", "rep-1", Administer("east"), False),
    ("rep", "rep-1", ClaimFrom("east"), True),
    ("rep", "rep-2", ClaimFrom("east"), True),  # a member through its team
    ("rep", "rep-9", ClaimFrom("east"), False),
    ("rep", "rep-1", ClaimFrom("nowhere"), False),
    ("manager", "mgr-east", ClaimFrom("east"), False),
    ("ops", "ops-1", ClaimFrom("east"), False),
    ("rep", "rep-1", HandOver("east", owner="rep-1"), True),
    ("rep", "rep-2", HandOver("east", owner="rep-1"), False),  # not its customer
    ("rep", "rep-2", HandOver("east", owner=None), False),
    ("admin", "adm-east", HandOver("east", owner="rep-1"), True),
    ("admin", "adm-east", HandOver("west", owner="rep-9"), False),  # another pool
    ("manager", "mgr-east", HandOver("east", owner="rep-1"), False),
    ("ops", "ops-1", HandOver("east", owner="rep-1"), False),
])
def test_who_may_do_what(role: Role, person: str, action: Action, allowed: bool) -> None:
    reason = refusal(Identity(person, role), action, RULES)
    assert (reason is None) == allowed
    assert reason is None or reason  # a refusal always says why


def test_a_token_carries_its_person_and_role_until_it_expires() -> None:
    token = issue(Identity("rep-1", "rep"), SECRET, timedelta(hours=1), T0)
    assert verify(token, SECRET, T0 + timedelta(minutes=59)) == Identity("rep-1", "rep")
    with pytest.raises(Unauthenticated, match="expired"):
        verify(token, SECRET, T0 + timedelta(hours=1))
    with pytest.raises(Unauthenticated, match="invalid token"):
        verify(token, SECRET.upper(), T0)
    forged = issue(Identity("rep-1", "ops"), "another-secret-of-at-least-32-bytes", timedelta(
        hours=1), T0)
    with pytest.raises(Unauthenticated):
        verify(forged, SECRET, T0)
    with pytest.raises(Unauthenticated, match="invalid token"):
        verify("not.a.token", SECRET, T0)


@pytest.mark.parametrize(("headers", "cookies", "query"), [
    ({"Authorization": "Bearer {t}"}, {}, {}),
    ({}, {COOKIE: "{t}"}, {}),
    ({}, {}, {"token": "{t}"}),
])
def test_a_token_is_taken_from_a_header_a_cookie_or_a_streams_query(
        headers: dict[str, str], cookies: dict[str, str], query: dict[str, str]) -> None:
    token = issue(Identity("ops-1", "ops"), SECRET, timedelta(hours=1), T0)

    def filled(values: dict[str, str]) -> dict[str, str]:
        return {k: v.format(t=token) for k, v in values.items()}

    who = Authenticator(SECRET).identify(filled(headers), filled(cookies), filled(query), T0)
    assert who == Identity("ops-1", "ops")


def test_no_token_is_refused_and_the_refusal_never_quotes_a_token() -> None:
    with pytest.raises(Unauthenticated, match="no token"):
        Authenticator(SECRET).identify({}, {}, {}, T0)
    with pytest.raises(Unauthenticated) as refused:
        Authenticator(SECRET).identify({"Authorization": "Bearer abc.def.ghi"}, {}, {}, T0)
    assert "abc" not in str(refused.value)


def test_behind_a_proxy_the_identity_comes_from_its_headers() -> None:
    proxy = Authenticator(SECRET, identity_header="X-Auth-Request-User")
    who = proxy.identify({"X-Auth-Request-User": "mgr-east",
                          "X-Auth-Request-Groups": "staff, manager"}, {}, {}, T0)
    assert who == Identity("mgr-east", "manager")
    with pytest.raises(Unauthenticated, match="names none of the roles"):
        proxy.identify({"X-Auth-Request-User": "x", "X-Auth-Request-Groups": "staff"}, {}, {})
    token = issue(Identity("ops-1", "ops"), SECRET, timedelta(hours=1), T0)
    with pytest.raises(Unauthenticated, match="no X-Auth-Request-User"):  # tokens don't count
        proxy.identify({"Authorization": f"Bearer {token}"}, {}, {}, T0)
