"""The worker keeps the root logger at the level asked for (Faust's spinner would not)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import faust
import pytest

from crmstream.faust_worker import faust_worker


@pytest.fixture
def root_logger() -> Iterator[logging.Logger]:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield root
    root.setLevel(level)
    root.handlers[:] = handlers


@pytest.mark.parametrize("spinner", [False, True])
def test_library_debug_records_are_not_built_at_warning(root_logger: logging.Logger,
                                                        spinner: bool) -> None:
    app = faust.App("logging-test", autodiscover=False)
    worker = faust.Worker(app, loglevel="WARNING") if spinner else faust_worker(app, "WARNING")
    worker._setup_logging()  # what execute_from_commandline does first
    debug_on = logging.getLogger("aiokafka.consumer.fetcher").isEnabledFor(logging.DEBUG)
    # Faust's own worker (with its spinner) turns DEBUG on: the reason for faust_worker.
    assert debug_on is spinner
