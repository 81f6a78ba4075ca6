"""A YAML configuration file read into its pydantic model, or one error that says which file
and, for each problem, where in it (the pool rules, the delivery routing)."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


class ConfigFileError(Exception):
    """The file is missing, unreadable, not YAML, or not valid: the message says where."""


def load_config(path: Path, model: type[M], what: str, error: type[ConfigFileError]) -> M:
    """``path`` as a ``model``; ``error`` (a ConfigFileError) naming ``what`` otherwise.
    Messages quote locations and reasons, never the values (they may be secrets)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise error(f"{what} {path} is not valid YAML: {exc}") from exc
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as exc:
        lines = [f"  {'.'.join(str(p) for p in e['loc']) or '(file)'}: {e['msg']}"
                 for e in exc.errors(include_url=False)]
        raise error(f"invalid {what} in {path}:\n" + "\n".join(lines)) from None
