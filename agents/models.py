"""The worker's online models: scoring, learning as labels arrive, and watching their quality.

Each labelled example is scored before the model learns from it, so the rolling metrics
and the drift detector see honest (progressive) predictions. A drift raises a model alert,
at most once per cooldown per model.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime, timedelta

import numpy as np

from agents import metrics
from schemas.outputs import Alert
from scoring.churn import ChurnModel
from scoring.quality import ModelQuality
from scoring.sentiment import SentimentModel, label_of_rating, score_of
from state.alerts import MODEL_DRIFT
from state.churn import CHURN_FEATURES, ChurnLabel, ModelInfo
from state.customer import ChurnFeatures

SENTIMENT = "sentiment"
CHURN = "churn"


class Models:
    def __init__(
        self, sentiment: SentimentModel | None, churn: ChurnModel | None,
        drift_cooldown: timedelta = timedelta(hours=1),
    ) -> None:
        self.sentiment = sentiment
        self.churn = churn
        self.quality = {SENTIMENT: ModelQuality(), CHURN: ModelQuality()}
        self.drift_cooldown = drift_cooldown
        self._drift_alerted: dict[str, datetime] = {}
        # The rolling metrics are read when Prometheus scrapes, not recomputed per label.
        for name, _ in self.present():
            self._export_quality(name, self.quality[name])

    def present(self) -> Iterator[tuple[str, SentimentModel | ChurnModel]]:
        """(name, model) of each model the worker runs."""
        if self.sentiment is not None:
            yield SENTIMENT, self.sentiment
        if self.churn is not None:
            yield CHURN, self.churn

    @staticmethod
    def _export_quality(name: str, quality: ModelQuality) -> None:
        metrics.MODEL_ROC_AUC.labels(name).set_function(
            lambda: nan_if_none(quality.snapshot().roc_auc))
        metrics.MODEL_LOG_LOSS.labels(name).set_function(lambda: quality.snapshot().log_loss)
        metrics.MODEL_ACCURACY.labels(name).set_function(lambda: quality.snapshot().accuracy)

    def info(self) -> ModelInfo:
        return ModelInfo(
            churn=self.churn.version if self.churn else "",
            sentiment=self.sentiment.version if self.sentiment else "",
            churn_labels=self.churn.learned if self.churn else 0,
            # Undefined (one class in the window) has not proved the model ranks well.
            churn_roc_auc=self.quality[CHURN].snapshot().roc_auc or 0.0,
        )

    def describe(self) -> dict[str, dict[str, object]]:
        """Each model's version, labels learned and rolling quality (for /healthz)."""
        out: dict[str, dict[str, object]] = {}
        for name, model in self.present():
            q = self.quality[name].snapshot()
            out[name] = {"version": model.version, "learned": model.learned,
                         "rolling": {"labels": q.labels, "roc_auc": q.roc_auc,
                                     "log_loss": q.log_loss, "accuracy": q.accuracy},
                         "drifts": self.quality[name].drifts}
        return out

    def text(self, text: str, rating: int | None, now: datetime
             ) -> tuple[float | None, Alert | None]:
        """A text's sentiment in [-1, 1]; a rated text also teaches the model."""
        if self.sentiment is None:
            return None, None
        label = label_of_rating(rating) if rating is not None else None
        p_positive = self.sentiment.predict_then_learn(text, label)
        metrics.TEXTS_SCORED.inc()
        drift = None
        if label is not None:
            drift = self._judge(SENTIMENT, label, p_positive, now)
            metrics.MODEL_LABELS.labels(SENTIMENT, "positive" if label else "negative").inc()
        return score_of(p_positive), drift

    def churn_risks(self, rows: np.ndarray) -> tuple[list[ChurnFeatures], list[float]]:
        """The risks of a batch of customers (rows of ``CHURN_FEATURES``) in one go, and the
        features as the model saw them."""
        if self.churn is None or len(rows) == 0:
            return [], []
        metrics.CHURN_SCORED.inc(len(rows))
        seen, risks = self.churn.score_rows(CHURN_FEATURES, rows)
        return [tuple(row) for row in seen], risks

    def churn_drivers(self, row: ChurnFeatures) -> tuple[str, ...]:
        """The churn model's strongest reasons for a customer's risk (its features' names),
        or none before the model has learned anything."""
        if self.churn is None or self.churn.learned == 0 or len(row) != len(CHURN_FEATURES):
            return ()
        return tuple(self.churn.drivers(CHURN_FEATURES, row))

    def learn_churn(self, label: ChurnLabel, now: datetime) -> Alert | None:
        if self.churn is None:
            return None
        if len(label.features) != len(CHURN_FEATURES):
            # Saved by a worker with another feature layout: meaningless to this model.
            metrics.MODEL_LABELS.labels(CHURN, "skipped").inc()
            return None
        x = label.named()  # the numbers the prediction saw (state/churn.py)
        drift = self._judge(CHURN, label.churned, self.churn.probability(x), now)
        self.churn.learn(x, label.churned)
        metrics.MODEL_LABELS.labels(CHURN, "churned" if label.churned else "stayed").inc()
        return drift

    def _judge(self, model: str, truth: bool, p_true: float, now: datetime) -> Alert | None:
        quality = self.quality[model]
        if not quality.update(truth, p_true):
            return None
        snapshot = quality.snapshot()
        metrics.MODEL_DRIFTS.labels(model).inc()
        last = self._drift_alerted.get(model)
        if last is not None and now - last < self.drift_cooldown:
            return None
        self._drift_alerted[model] = now
        return Alert(
            alert_id=f"model:{model}:{snapshot.labels}:{MODEL_DRIFT}",
            customer_id=f"model:{model}", type=MODEL_DRIFT, severity="warning",
            message=f"the {model} model's error rate changed (ADWIN) after {snapshot.labels} "
                    f"labels; rolling accuracy now {snapshot.accuracy:.3f}",
            value=snapshot.accuracy, at=now,
        )


def nan_if_none(value: float | None) -> float:
    """Prometheus' reading of "undefined": NaN, which no alert threshold compares true."""
    return math.nan if value is None else value
