"""Progressive validation (predict, then learn) of crmstream's own models on a labelled file.

``crmstream evaluate sentiment FILE --text COLUMN --label COLUMN`` and ``crmstream evaluate
churn FILE --label COLUMN`` read CSV, JSONL or Parquet, start from an empty model, and print
accuracy, ROC AUC, log loss and events per second, ending with one JSON line. The churn
model learns from every other column of the file (``--ignore`` drops ids and the like).
"""

from __future__ import annotations

import csv
import json
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from river import metrics

from scoring.churn import ChurnModel, row_features
from scoring.sentiment import SentimentModel

_TRUE = {"1", "yes", "y", "true", "t", "positive", "pos", "churn", "churned"}
_FALSE = {"0", "no", "n", "false", "f", "negative", "neg", "stayed"}


class EvaluationError(Exception):
    """The file or its columns cannot be evaluated; the message says why."""


def parse_label(value: object, where: str) -> bool:
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise EvaluationError(f"{where}: label {value!r} is not one of yes/no, positive/negative, 1/0")


def read_rows(path: Path) -> Iterator[dict[str, Any]]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as handle:
            yield from csv.DictReader(handle)
    elif suffix in (".jsonl", ".ndjson"):
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    yield json.loads(line)
    elif suffix == ".parquet":
        try:
            import pyarrow.parquet as parquet  # optional: only Parquet needs it
        except ImportError:
            raise EvaluationError(
                "reading Parquet needs pyarrow: pip install pyarrow") from None
        yield from parquet.read_table(path).to_pylist()
    else:
        raise EvaluationError(f"{path}: expected .csv, .jsonl or .parquet")


def evaluate_sentiment(path: Path, text: str, label: str, shuffle: int | None = None,
                       prior: bool = False, first: int | None = None) -> dict[str, float]:
    """From an empty model, or from the shipped prior with ``prior``; over every row, or
    the ``first`` ones (how useful the model is before it has learned much)."""
    rows = _rows(path, (text, label), shuffle)
    rows = rows[:first] if first is not None else rows
    truths = [parse_label(row[label], f"{path}:{n}") for n, row in enumerate(rows, 1)]
    model = SentimentModel.with_prior() if prior else SentimentModel()
    predicted: list[float] = []
    started = time.perf_counter()
    for row, truth in zip(rows, truths, strict=True):
        predicted.append(model.predict_then_learn(str(row[text]), truth))
    elapsed = time.perf_counter() - started  # the model's own time: predict, then learn
    return scores(truths, predicted) | {"events_per_s": round(len(rows) / elapsed, 1)}


def evaluate_churn(path: Path, label: str, ignore: frozenset[str] = frozenset(),
                   shuffle: int | None = None) -> dict[str, float]:
    """The worker's churn pipeline from an empty model, one row at a time."""
    rows = _rows(path, (label,), shuffle)
    truths = [parse_label(row[label], f"{path}:{n}") for n, row in enumerate(rows, 1)]
    skip = ignore | {label}
    model = ChurnModel()
    predicted: list[float] = []
    started = time.perf_counter()
    for row, truth in zip(rows, truths, strict=True):
        x = row_features(row, skip)
        predicted.append(model.probability(x))
        model.learn(x, truth)
    elapsed = time.perf_counter() - started
    return scores(truths, predicted) | {"events_per_s": round(len(rows) / elapsed, 1)}


def _rows(path: Path, columns: tuple[str, ...], shuffle: int | None) -> list[dict[str, Any]]:
    rows = list(read_rows(path))
    if not rows:
        raise EvaluationError(f"{path} has no rows")
    for column in columns:
        if column not in rows[0]:
            raise EvaluationError(f"{path} has no column {column!r} (it has {sorted(rows[0])})")
    if shuffle is not None:
        random.Random(shuffle).shuffle(rows)
    return rows


def scores(truths: list[bool], predicted: list[float]) -> dict[str, float]:
    """Accuracy at 0.5, exact ROC AUC and log loss of probabilities of the positive class."""
    accuracy, log_loss = metrics.Accuracy(), metrics.LogLoss()
    for truth, p in zip(truths, predicted, strict=True):
        accuracy.update(truth, p >= 0.5)
        log_loss.update(truth, {True: p, False: 1 - p})
    return {"n": len(truths), "accuracy": round(accuracy.get(), 4),
            "roc_auc": round(exact_roc_auc(truths, predicted), 4),
            "log_loss": round(log_loss.get(), 4)}


def exact_roc_auc(truths: list[bool], predicted: list[float]) -> float:
    """The probability that a random positive outranks a random negative (ties count half):
    the area under the ROC curve with every threshold, from one sort."""
    order = sorted(range(len(predicted)), key=predicted.__getitem__)
    ranks = [0.0] * len(predicted)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and predicted[order[end + 1]] == predicted[order[start]]:
            end += 1
        for k in range(start, end + 1):
            ranks[order[k]] = (start + end) / 2 + 1  # the average rank of a tie
        start = end + 1
    positives = sum(truths)
    negatives = len(truths) - positives
    if not positives or not negatives:
        return float("nan")
    rank_sum = sum(r for r, t in zip(ranks, truths, strict=True) if t)
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)
