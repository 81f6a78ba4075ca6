"""The baseline: a Faust agent that only counts the records of the input topics.

Writes ``{"events": N, "first": t, "last": t}`` (wall-clock seconds) to ``--result`` once it
has counted ``--events`` records, then exits. (The Faust worker captures stdout into its log.)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import faust

from crmstream.faust_worker import faust_worker


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--topics", nargs="+", required=True)
    parser.add_argument("--events", type=int, required=True)
    parser.add_argument("--app-id", required=True)
    parser.add_argument("--web-port", type=int, required=True)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--result", required=True)
    args = parser.parse_args()
    sys.argv = sys.argv[:1]

    app = faust.App(
        args.app_id, broker="kafka://127.0.0.1:9092", store="memory://",
        web_port=args.web_port, web_host="127.0.0.1", datadir=f"/tmp/{args.app_id}",
        topic_partitions=args.partitions, consumer_auto_offset_reset="earliest",
        autodiscover=False,
    )
    topic = app.topic(*args.topics, key_type=bytes, value_type=bytes, key_serializer="raw",
                      value_serializer="raw", partitions=args.partitions)
    seen = {"count": 0, "first": 0.0}

    def finish(result: dict[str, float]) -> None:
        Path(args.result).write_text(json.dumps(result))
        os._exit(0)  # the measurement is done; skip Faust's slow shutdown

    @app.agent(topic)
    async def count(stream: faust.StreamT[bytes]) -> None:
        async for _ in stream:
            if seen["count"] == 0:
                seen["first"] = time.time()
            seen["count"] += 1
            if seen["count"] >= args.events:
                finish({"events": seen["count"], "first": seen["first"], "last": time.time()})

    # Faust's own worker, without its console spinner, as crmstream runs it: the spinner
    # costs Faust's consumer thread the same here (crmstream/faust_worker.py).
    faust_worker(app, "WARNING").execute_from_commandline()
    return 0


if __name__ == "__main__":
    sys.exit(main())
