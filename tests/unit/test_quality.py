"""A model's rolling quality: the ROC AUC is undefined, not 0, while one class fills the window."""

from __future__ import annotations

import math

import pytest
from prometheus_client import REGISTRY

from agents.models import CHURN, Models
from scoring.churn import ChurnModel
from scoring.evaluate import exact_roc_auc
from scoring.quality import ModelQuality


@pytest.mark.parametrize(("labels", "defined"), [
    ([], False),
    ([(True, 0.9)] * 5, False),
    ([(False, 0.2)] * 5, False),
    ([(True, 0.9), (False, 0.2)], True),
    # The window (3) slides past the only negative: one class again.
    ([(False, 0.2), (True, 0.9), (True, 0.8), (True, 0.7)], False),
    # ... and past the first positives: both classes again.
    ([(True, 0.9)] * 4 + [(False, 0.3)], True),
])
def test_the_roc_auc_is_defined_only_with_both_classes_in_the_window(
        labels: list[tuple[bool, float]], defined: bool) -> None:
    quality = ModelQuality(window=3)
    for truth, p_true in labels:
        quality.update(truth, p_true)
    assert (quality.snapshot().roc_auc is not None) is defined


def test_a_mixed_window_reads_the_exact_area_of_its_labels() -> None:
    window = [(True, 0.9), (False, 0.4), (True, 0.3), (False, 0.1), (True, 0.6)]
    quality = ModelQuality(window=5)
    for truth, p_true in [(False, 0.99), *window]:  # the first label slides out
        quality.update(truth, p_true)
    expected = exact_roc_auc([t for t, _ in window], [p for _, p in window])
    assert quality.snapshot().roc_auc == pytest.approx(expected)


def test_prometheus_and_the_alert_gate_read_an_undefined_area_as_not_proven() -> None:
    models = Models(None, ChurnModel())
    quality = models.quality[CHURN]

    def scraped() -> float | None:
        return REGISTRY.get_sample_value("crmstream_model_roc_auc", {"model": CHURN})

    for _ in range(3):
        quality.update(True, 0.9)
    scraped_auc = scraped()
    assert scraped_auc is not None
    assert math.isnan(scraped_auc)  # no alert threshold compares true against NaN
    assert models.info().churn_roc_auc == 0.0
    quality.update(False, 0.1)
    assert scraped() == 1.0
    assert models.info().churn_roc_auc == 1.0
