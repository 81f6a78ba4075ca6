"""``crmstream worker`` whose batch machinery fails on its first batch, a stand-in for a bug
in it (a record's own failure is a dead letter, not this): with
``CRMSTREAM_TEST_FAULT=raise`` the batch raises, with ``hang`` it never finishes. Started by
the tests that such a worker stops, or stops being ready, instead of looking healthy."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agents.processor import Processor
from crmstream import cli

FAULT = os.environ["CRMSTREAM_TEST_FAULT"]
MARKER = Path(os.environ["CRMSTREAM_TEST_FAULT_MARKER"])  # the fault strikes one run only
STRIKES = not MARKER.exists()
MARKER.touch()


async def faulty_submit(self: Processor, records: Sequence[Any]) -> Any:
    global STRIKES
    if STRIKES:
        STRIKES = False
        if FAULT == "hang":
            await asyncio.Event().wait()
        raise RuntimeError("injected failure of the batch machinery")
    return await original_submit(self, records)


original_submit = Processor.submit
Processor.submit = faulty_submit  # type: ignore[method-assign]

if __name__ == "__main__":
    sys.exit(cli.main(["worker", "--loglevel", "info"]))
