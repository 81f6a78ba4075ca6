"""The sentiment model: hashed text features into an online logistic regression.

Memory is bounded whatever the vocabulary: tokens are hashed into 2**18 features, so the
weights never exceed that many entries. Labels come from ratings: 1-2 negative, 4-5
positive, 3 says nothing.
"""

from __future__ import annotations

from typing import Any

from river import compose, linear_model, preprocessing

from scoring import lexicon
from scoring.optim import LeanAdaGrad
from scoring.text import text_features

VERSION = "sentiment-hash18-char3-adagrad0.5-lexicon1-lean"
HASHED_FEATURES = 2**18


def new_model() -> compose.Pipeline:
    """Text features (computed once per text by the caller) -> hashed -> logistic."""
    return compose.Pipeline(
        preprocessing.FeatureHasher(n_features=HASHED_FEATURES, seed=1),
        linear_model.LogisticRegression(optimizer=LeanAdaGrad(0.5)),
    )


def label_of_rating(rating: int) -> bool | None:
    """True for a positive rating (4-5), False for a negative one (1-2), None for 3."""
    if rating >= 4:
        return True
    if rating <= 2:
        return False
    return None


def score_of(p_positive: float) -> float:
    """P(positive) as a sentiment in [-1, 1] (-1 very negative)."""
    return 2.0 * p_positive - 1.0


class SentimentModel:
    """P(positive) of a text, and a score in [-1, 1] (-1 very negative). ``learned`` counts
    the labelled texts it learned from after its prior."""

    def __init__(self, model: compose.Pipeline | None = None, learned: int = 0) -> None:
        self.model = model or new_model()
        self.version = VERSION
        self.learned = learned

    @classmethod
    def with_prior(cls) -> SentimentModel:
        """A model that has learned the shipped lexicon (scoring/lexicon.py) first."""
        fresh = cls()
        for _ in range(lexicon.EPOCHS):
            for phrase in lexicon.POSITIVE:
                fresh.model.learn_one(text_features(phrase), True)
            for phrase in lexicon.NEGATIVE:
                fresh.model.learn_one(text_features(phrase), False)
        return fresh

    @staticmethod
    def features(text: str) -> dict[str, float]:
        return text_features(text)

    def probability_positive(self, text: str | dict[str, float]) -> float:
        """P(positive) of a text, or of its ``features`` when the caller has them."""
        x = self.features(text) if isinstance(text, str) else text
        proba: dict[Any, float] = self.model.predict_proba_one(x)
        return float(proba.get(True, 0.5))

    def score(self, text: str | dict[str, float]) -> float:
        return score_of(self.probability_positive(text))

    def predict_then_learn(self, text: str | dict[str, float], positive: bool | None
                           ) -> float:
        """``probability_positive``, then ``learn`` the label if there is one (progressive
        validation: the worker's path and the evaluation's). The text is hashed once for
        both; the pipeline would hash it again to learn."""
        x = self.features(text) if isinstance(text, str) else text
        hasher: preprocessing.FeatureHasher = self.model.steps["FeatureHasher"]
        regression: linear_model.LogisticRegression = self.model.steps["LogisticRegression"]
        hashed = hasher.transform_one(x)
        proba: dict[Any, float] = regression.predict_proba_one(hashed)
        if positive is not None:
            regression.learn_one(hashed, positive)
            self.learned += 1
        return float(proba.get(True, 0.5))

    def learn(self, text: str | dict[str, float], positive: bool) -> None:
        x = self.features(text) if isinstance(text, str) else text
        self.model.learn_one(x, positive)
        self.learned += 1
