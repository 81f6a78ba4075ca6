"""The churn model: P(churn) of a customer from a flat row of its features.

One pipeline for the worker and for ``crmstream evaluate churn``: numbers are standardised
(and given a log1p twin, since money and counts are heavy-tailed), text values are one-hot
encoded, and an online logistic regression with AdaGrad learns from delayed labels. On the
IBM Telco set this pipeline reads ROC AUC 0.843 online (AdaGrad 0.05; plain SGD 0.01 reads
0.830, and scaling the one-hot columns too costs 0.02), see the README.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from river import compose, linear_model, optim, preprocessing

VERSION = "churn-scaled-log1p-onehot-adagrad0.05-v1"
Features = dict[str, float | str]


def new_model() -> compose.Pipeline:
    numbers = compose.SelectType(float) | preprocessing.StandardScaler()
    categories = compose.SelectType(str) | preprocessing.OneHotEncoder()
    return compose.Pipeline(
        compose.TransformerUnion(numbers, categories),
        linear_model.LogisticRegression(optimizer=optim.AdaGrad(0.05)),
    )


def row_features(row: Mapping[str, object], skip: frozenset[str] = frozenset()) -> Features:
    """A row of a file or the worker's feature dict as the model's input: numbers (also
    numeric strings, as CSV gives them) become floats with a ``_log`` twin, other text is a
    category, and missing values are left out (the model sees no evidence either way)."""
    x: Features = {}
    for name, value in row.items():
        if name in skip or value is None or value == "":
            continue
        number = _number(value)
        if number is None:
            x[name] = str(value)
            continue
        x[name] = number
        if number >= 0:
            x[f"{name}_log"] = math.log1p(number)
    return x


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    try:
        number = float(str(value))
    except ValueError:
        return None
    return number if math.isfinite(number) else None


class ChurnModel:
    """``learned`` counts the labels it learned from."""

    def __init__(self, model: compose.Pipeline | None = None, learned: int = 0) -> None:
        self.model = model or new_model()
        self.version = VERSION
        self.learned = learned

    def probability(self, x: dict[str, float] | Features) -> float:
        proba: dict[Any, float] = self.model.predict_proba_one(x)
        return float(proba.get(True, 0.5))

    def learn(self, x: dict[str, float] | Features, churned: bool) -> None:
        self.model.learn_one(x, churned)
        self.learned += 1
