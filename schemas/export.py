"""Writes the JSON Schema of every wire message to ``schemas/json`` (``python -m schemas.export``).

Producers in other languages validate against these files; a test fails when they are stale.
"""

import json
import sys
from pathlib import Path

from pydantic import TypeAdapter

from schemas.commands import COMMAND_ADAPTER
from schemas.events import Click, Interaction, Order
from schemas.outputs import Alert, DeadLetter, DeliveryDeadLetter, Notice, Score, StateChanged

JSON_DIR = Path(__file__).parent / "json"

_MODELS: dict[str, TypeAdapter[object]] = {
    "interaction": TypeAdapter(Interaction),
    "click": TypeAdapter(Click),
    "order": TypeAdapter(Order),
    "command": COMMAND_ADAPTER,  # type: ignore[dict-item]
    "notice": TypeAdapter(Notice),
    "alert": TypeAdapter(Alert),
    "score": TypeAdapter(Score),
    "dead_letter": TypeAdapter(DeadLetter),
    "delivery_dead_letter": TypeAdapter(DeliveryDeadLetter),
    "state_changed": TypeAdapter(StateChanged),
}


def rendered() -> dict[str, str]:
    """File name -> the JSON Schema text it should hold."""
    return {
        f"{name}.schema.json": json.dumps(adapter.json_schema(), indent=2, sort_keys=True) + "\n"
        for name, adapter in _MODELS.items()
    }


def main() -> int:
    JSON_DIR.mkdir(exist_ok=True)
    for file_name, text in rendered().items():
        (JSON_DIR / file_name).write_text(text, encoding="utf-8")
    print(f"wrote {len(_MODELS)} schemas to {JSON_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
