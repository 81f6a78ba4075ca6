"""The right to be forgotten (China's PIPL, the GDPR): what a ``forget`` command erases, what
is kept, and what happens to the customer's later events.

- Erased: the customer's state and read model (name, ownership history with its actors and
  reasons, activity, scores, the churn features waiting for a label), its place in every
  rep, pool, risk and timer set, and the notices and alerts about it in the reps' inboxes
  and the recent-alerts stream.
- Kept: a tombstone, under a keyed hash of the id (never the id in clear), holding only
  the state's version, pool and level, so that the customer's later events are recognised
  and refused (``forgotten`` dead letters) until it is registered again, which starts a
  new record. Counts already in aggregate metrics stay: they identify no one.

Pure: the store writes what these functions decide (``state.redis_store``).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from pydantic import BaseModel

from schemas.base import Timestamp
from state.customer import CustomerState, new_customer
from state.pool_rules import PoolRules

FORGOTTEN = "forgotten"
REFUSAL = "the customer's data was erased on request (forget); register it again to start over"


class Tombstone(BaseModel):
    """What is kept of a forgotten customer, under ``tombstone_field`` of its id."""

    version: int
    pool_id: str
    level: str
    at: Timestamp


def tombstone_field(customer_id: str, key: bytes) -> str:
    """The keyed hash a forgotten customer's tombstone is filed under: HMAC-SHA256 with a
    secret of the deployment, so the ids cannot be recovered by hashing candidate ids."""
    return hmac.new(key, customer_id.encode(), hashlib.sha256).hexdigest()


def erased(state: CustomerState, now: datetime) -> CustomerState:
    """The customer after ``forget``: nothing but what the worker needs to refuse its later
    events (its id stays in the worker's memory only; the store deletes the record)."""
    return CustomerState(
        customer_id=state.customer_id, version=state.version, pool_id=state.pool_id,
        level=state.level, status="forgotten", created_at=now, updated_at=now,
        recent_event_ids=state.recent_event_ids,
    )


def tombstone(state: CustomerState) -> Tombstone:
    return Tombstone(version=state.version, pool_id=state.pool_id, level=state.level,
                     at=state.updated_at)


def from_tombstone(customer_id: str, kept: Tombstone) -> CustomerState:
    return CustomerState(customer_id=customer_id, version=kept.version, pool_id=kept.pool_id,
                         level=kept.level, status="forgotten", created_at=kept.at,
                         updated_at=kept.at)


def reborn(state: CustomerState, pool_id: str, level: str, now: datetime) -> CustomerState:
    """A forgotten customer registered again: a new record, whose versions (and so the ids
    of its notices) go on from the old one's, so none repeats an id a consumer has seen."""
    return new_customer(state.customer_id, pool_id, level, now).model_copy(
        update={"version": state.version, "recent_event_ids": state.recent_event_ids})


def inboxes_to_scrub(state: CustomerState, rules: PoolRules) -> set[str]:
    """The reps whose inboxes may hold notices about the customer: its owners and the actors
    of its history, and the managers who are warned about reclaims. (A rep refused a claim
    of it, and named nowhere else, keeps that notice until the inbox's cap drops it.)"""
    reps = {rep for change in state.history
            for rep in (change.from_rep, change.to_rep, change.actor) if rep}
    if state.owner:
        reps.add(state.owner)
    return reps | {manager for pool in rules.pools for manager in pool.managers}
