"""Text features, the sentiment model and the evaluation command, on small data."""

from __future__ import annotations

import json
import math
import pickle
import random
from pathlib import Path

import pytest
from river import linear_model, optim

from scoring.evaluate import EvaluationError, evaluate_sentiment, parse_label
from scoring.optim import LeanAdaGrad
from scoring.sentiment import SentimentModel, label_of_rating
from scoring.text import text_features


@pytest.mark.parametrize(
    ("text", "present", "absent"),
    [
        ("质量很好", {"质", "质量", "质量很", "很好"}, {"质量很好"}),  # 1- to 3-grams, no 4
        ("Great SERVICE", {"great", "service"}, {"Great"}),  # words, lowercased
        ("退款 refund 123", {"退款", "refund", "123"}, set()),  # mixed text
        ("！？。", set(), {"！"}),  # punctuation alone makes no feature
    ],
)
def test_text_features(text: str, present: set[str], absent: set[str]) -> None:
    features = text_features(text)
    assert present <= set(features)
    assert not absent & set(features)
    if features:
        assert math.isclose(math.sqrt(sum(v * v for v in features.values())), 1.0)


def test_repeated_grams_weigh_by_their_counts() -> None:
    norm = math.sqrt(3**2 + 2**2 + 1**2 + 1**2)  # 好 x3, 好好 x2, 好好好 and ok once
    assert text_features("好好好 ok") == pytest.approx(
        {"好": 3 / norm, "好好": 2 / norm, "好好好": 1 / norm, "ok": 1 / norm})


@pytest.mark.parametrize(("rating", "label"), [(1, False), (2, False), (3, None), (4, True),
                                               (5, True)])
def test_ratings_label_texts(rating: int, label: bool | None) -> None:
    assert label_of_rating(rating) is label


@pytest.mark.parametrize(("value", "label"), [
    ("yes", True), ("No", False), ("positive", True), ("neg", False), (1, True), ("0", False),
    ("True", True), ("churned", True)])
def test_labels_may_be_words(value: object, label: bool) -> None:
    assert parse_label(value, "row") is label


def test_a_label_that_is_no_label_is_an_error() -> None:
    with pytest.raises(EvaluationError, match="'maybe' is not one of"):
        parse_label("maybe", "row 3")


POSITIVE = ["质量很好", "非常满意", "服务态度好", "great product", "物流很快", "love it"]
NEGATIVE = ["质量很差", "非常失望", "服务态度差", "terrible support", "物流太慢", "hate it"]


def reviews(n: int, seed: int = 3) -> list[dict[str, str]]:
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        positive = rng.random() < 0.5
        words = rng.sample(POSITIVE if positive else NEGATIVE, 2)
        rows.append({"review": "，".join(words), "label": "yes" if positive else "no"})
    return rows


def test_the_model_learns_online_and_survives_pickling() -> None:
    model = SentimentModel()
    for row in reviews(300):
        model.learn(row["review"], row["label"] == "yes")
    assert model.score("质量很好，非常满意") > 0.5
    assert model.score("质量很差，非常失望") < -0.5
    restored: SentimentModel = pickle.loads(pickle.dumps(model))
    assert restored.score("质量很好") == pytest.approx(model.score("质量很好"))


def test_predict_then_learn_is_the_pipelines_predict_and_learn() -> None:
    ours, river = SentimentModel(), SentimentModel()
    for row in reviews(200):
        positive = row["label"] == "yes" if len(row["review"]) % 3 else None  # some unrated
        expected = river.probability_positive(row["review"])
        if positive is not None:
            river.learn(row["review"], positive)
        assert ours.predict_then_learn(row["review"], positive) == pytest.approx(expected)
    assert ours.learned == river.learned > 0
    assert ours.score("质量很好，非常满意") == pytest.approx(river.score("质量很好，非常满意"))


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_evaluate_runs_progressive_validation(tmp_path: Path, suffix: str) -> None:
    rows = reviews(400)
    path = tmp_path / f"reviews{suffix}"
    if suffix == ".csv":
        path.write_text("review,label\n" + "".join(f"{r['review']},{r['label']}\n"
                                                   for r in rows), encoding="utf-8")
    else:
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                        encoding="utf-8")
    result = evaluate_sentiment(path, "review", "label")
    assert result["n"] == 400
    assert result["accuracy"] > 0.9  # separable data: predict-then-learn gets it quickly
    assert result["roc_auc"] > 0.9
    assert 0 < result["log_loss"] < 0.7
    assert result["events_per_s"] > 0


def test_evaluate_says_what_is_wrong_with_the_file(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("text,label\nok,yes\n", encoding="utf-8")
    with pytest.raises(EvaluationError, match="no column 'review'"):
        evaluate_sentiment(path, "review", "label")
    with pytest.raises(EvaluationError, match=r"expected \.csv, \.jsonl or \.parquet"):
        evaluate_sentiment(tmp_path / "r.xlsx", "text", "label")


@pytest.mark.parametrize(
    ("truths", "predicted", "auc"),
    [
        ([True, False], [0.9, 0.1], 1.0),
        ([True, False], [0.1, 0.9], 0.0),
        ([True, False], [0.5, 0.5], 0.5),  # a tie counts half
        ([True, True, False, False], [0.8, 0.4, 0.6, 0.2], 0.75),
    ],
)
def test_exact_roc_auc(truths: list[bool], predicted: list[float], auc: float) -> None:
    from scoring.evaluate import exact_roc_auc

    assert exact_roc_auc(truths, predicted) == pytest.approx(auc)


# --- a customer's sentiment ---------------------------------------------------------------

def test_a_customers_sentiment_follows_recent_texts_more() -> None:
    from datetime import timedelta

    from state.transitions import Signals, apply
    from tests.factories import T0, interaction

    def after(*scored: tuple[float, float]) -> float | None:
        state = None
        for score, days in scored:
            event = interaction(text="x", occurred_at=T0 + timedelta(days=days))
            state = apply(state, event, T0 + timedelta(days=60),
                          signals=Signals(text_sentiment=score)).state
        assert state is not None
        return state.sentiment

    assert after((0.8, 0)) == 0.8
    assert after((1.0, 0), (-1.0, 0)) == pytest.approx(0.6)  # same day: the new text 20%
    month_later = after((1.0, 0), (-1.0, 28))  # two half-lives: the old one keeps 0.8/4
    assert month_later == pytest.approx(0.2 * 1.0 + 0.8 * -1.0)
    late = after((-1.0, 28), (1.0, 0))  # a late text weighs as old as it is
    assert late == pytest.approx(month_later)
    assert after((0.5, 0), (0.5, 3)) == pytest.approx(0.5)


def test_the_lean_adagrad_steps_exactly_as_rivers() -> None:
    rng = random.Random(5)
    rivers = linear_model.LogisticRegression(optimizer=optim.AdaGrad(0.5))
    ours = linear_model.LogisticRegression(optimizer=LeanAdaGrad(0.5))
    for _ in range(500):
        x = {rng.randrange(300): rng.random() for _ in range(rng.randrange(1, 30))}
        y = rng.random() < 0.4
        rivers.learn_one(x, y)
        ours.learn_one(x, y)
    assert dict(ours.weights) == dict(rivers.weights)
    assert ours.intercept == rivers.intercept
