"""The wire contracts: every message crmstream reads from or writes to Kafka."""

from schemas.commands import Command, CommandType
from schemas.events import Click, InputEvent, Interaction, Order
from schemas.outputs import Alert, DeadLetter, Notice, Score

__all__ = [
    "Alert",
    "Click",
    "Command",
    "CommandType",
    "DeadLetter",
    "InputEvent",
    "Interaction",
    "Notice",
    "Order",
    "Score",
]
