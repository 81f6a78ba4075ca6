"""Whether the delivery service is ready (Kubernetes' readiness), and why not. Pure."""

from __future__ import annotations


def unready(assigned_partitions: int, ledger_failing_for_s: float | None,
            ledger_down_after_s: float) -> list[str]:
    """Why the notifier is not ready; empty when it is. It is not ready before its group
    gave it partitions, or while its ledger has been failing longer than allowed (nothing
    is sent then: a delivery that cannot be recorded is not made)."""
    problems = []
    if assigned_partitions == 0:
        problems.append("owns no partition of the notices or alerts topics")
    if ledger_failing_for_s is not None and ledger_failing_for_s >= ledger_down_after_s:
        problems.append(f"the delivery ledger (Redis) has been failing for "
                        f"{ledger_failing_for_s:.0f} s")
    return problems
