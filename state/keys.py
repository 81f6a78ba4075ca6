"""Every Redis key crmstream writes, defined once. The README documents this layout."""

from __future__ import annotations

from dataclasses import dataclass

NOW = "now"  # the period of the standing numbers (``Keys.stats``)


@dataclass(frozen=True, slots=True)
class Keys:
    prefix: str = "crm:"

    def customer(self, customer_id: str) -> str:
        """Hash: the customer's live state, flat fields for readers plus ``doc`` (full JSON)."""
        return f"{self.prefix}customer:{customer_id}"

    def rep_customers(self, rep_id: str) -> str:
        """Set: the customers a rep owns now."""
        return f"{self.prefix}rep:{rep_id}:customers"

    def rep_pool_customers(self, rep_id: str, pool_id: str) -> str:
        """Set: the customers of one pool a rep owns now (for per-pool holding limits)."""
        return f"{self.prefix}rep:{rep_id}:pool:{pool_id}:customers"

    def rep_pending_claims(self, rep_id: str) -> str:
        """Sorted set: claims reserved but not committed yet, scored by reservation time."""
        return f"{self.prefix}rep:{rep_id}:claiming"

    def claims_today(self, pool_id: str, rep_id: str, day: str) -> str:
        """Set: the command ids of a rep's claims from a pool on a (UTC) day; expires."""
        return f"{self.prefix}claims:{pool_id}:{rep_id}:{day}"

    def pool_members(self, pool_id: str) -> str:
        """Sorted set: the customers waiting in a pool, scored by when they entered it."""
        return f"{self.prefix}pool:{pool_id}:members"

    def pool_recycle_bin(self, pool_id: str) -> str:
        """Sorted set: a pool's frozen and discarded customers, scored by when they went."""
        return f"{self.prefix}pool:{pool_id}:recycle"

    def offsets(self, partition: int) -> str:
        """Hash: input topic -> the last offset of that partition applied to the state."""
        return f"{self.prefix}offsets:{partition}"

    def timers(self, partition: int) -> str:
        """Sorted set: the partition's customers with a pool timer, scored by when it is due."""
        return f"{self.prefix}timers:{partition}"

    def changes(self, partition: int) -> str:
        """Pub/sub channel: what each committed batch of the partition changed (the
        console's open pages re-read what concerns them)."""
        return f"{self.prefix}changes:{partition}"

    def all_changes(self) -> str:
        """The pattern of every partition's ``changes`` channel."""
        return f"{self.prefix}changes:*"

    def stats(self, partition: int, period: str) -> str:
        """Hash: the partition's numbers of a period ("now", "utc:2026-12-07" or
        "local:2026-12-07"), field ``metric|pool|level|team`` -> count (analytics/tally.py).
        Day hashes expire after the retention."""
        return f"{self.prefix}stats:{partition}:{period}"

    def delivery(self, delivery_id: str) -> str:
        """String: a chat delivery's state ("sending:<sender>" while claimed, then "sent" or
        "dead"); written by the delivery service, expires after a week."""
        return f"{self.prefix}delivery:{delivery_id}"

    def inbox(self, rep_id: str) -> str:
        """Stream: the rep's notices, newest last, capped (the SSE endpoint reads it)."""
        return f"{self.prefix}inbox:{rep_id}"

    def inbox_ids(self, rep_id: str) -> str:
        """Sorted set: the notice ids already in the rep's inbox, so a replay adds none twice."""
        return f"{self.prefix}inbox:{rep_id}:ids"

    def alerts(self) -> str:
        """Stream: the most recent alerts (every customer and model), newest last, capped."""
        return f"{self.prefix}alerts"

    def alert_ids(self) -> str:
        """Sorted set: the alert ids already in the alerts stream, so none enters twice."""
        return f"{self.prefix}alerts:ids"

    def alert_acks(self) -> str:
        """Hash: alert id -> who acknowledged it and when (JSON), written by the console."""
        return f"{self.prefix}alerts:acked"

    def alert_ack_stream(self) -> str:
        """Stream: the acknowledgements in order, so every open alert desk sees each live."""
        return f"{self.prefix}alerts:acks"

    def console_request(self, person: str, request_id: str) -> str:
        """String: a console request already sent as a command (expires after a day)."""
        return f"{self.prefix}requests:{person}:{request_id}"

    def inbox_read(self, rep_id: str) -> str:
        """String: the newest inbox entry id the rep marked read."""
        return f"{self.prefix}inbox:{rep_id}:read"

    def riskiest(self) -> str:
        """Sorted set: every scored customer by churn risk (ZREVRANGE for the riskiest)."""
        return f"{self.prefix}churn:riskiest"

    def model(self, name: str) -> str:
        """Hash: a model's checkpoint (pickle), its version and how many labels it learned."""
        return f"{self.prefix}model:{name}"

    def forgotten(self, partition: int) -> str:
        """Hash: the partition's forgotten customers, keyed hash of the id -> tombstone JSON
        (state/forget.py); never the id in clear."""
        return f"{self.prefix}forgotten:{partition}"

    def fence(self, partition: int) -> str:
        """String: the fencing token of the worker that owns the partition now."""
        return f"{self.prefix}fence:{partition}"
