"""The RFM quintile edges of the customers seen, from the summed standing numbers."""

from __future__ import annotations

from collections.abc import Mapping

from state.segments import SegmentEdges, edges_from


def current_edges(standing: Mapping[str, int], defaults: SegmentEdges) -> SegmentEdges:
    """``standing``: every partition's standing numbers, summed (``StatsStore.standing``)."""
    frequency: dict[float, int] = {}
    monetary: dict[float, int] = {}
    for name, n in standing.items():
        metric = name.split("|", 1)[0]
        kind, _, bucket = metric.partition(":")
        if kind == "rfm_f":
            frequency[float(bucket)] = frequency.get(float(bucket), 0) + n
        elif kind == "rfm_m":
            monetary[float(bucket)] = monetary.get(float(bucket), 0) + n
    return edges_from(frequency, monetary, defaults)
