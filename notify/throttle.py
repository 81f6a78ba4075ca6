"""A robot's sending rate kept under its platform's limits: at most N messages in any window
(20 a minute for WeCom and DingTalk; 100 a minute and 5 a second for Feishu), counted over
the sends themselves, so a burst never trips the platform's own counter. Pure: the caller
says what time it is."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass
class Window:
    limit: int
    seconds: float
    sent: deque[float] = field(default_factory=deque)

    def wait(self, now: float) -> float:
        """Seconds until one more send fits in the window."""
        while self.sent and self.sent[0] <= now - self.seconds:
            self.sent.popleft()
        return 0.0 if len(self.sent) < self.limit else self.sent[0] + self.seconds - now


@dataclass
class Throttle:
    windows: list[Window]
    muted_until: float = 0.0  # the platform said "too fast": nothing until then

    @classmethod
    def per(cls, per_minute: int, per_second: int | None = None) -> Throttle:
        windows = [Window(per_minute, 60.0)]
        if per_second is not None:
            windows.append(Window(per_second, 1.0))
        return cls(windows)

    def wait(self, now: float) -> float:
        """Seconds until a message may be sent."""
        return max(self.muted_until - now, *(w.wait(now) for w in self.windows), 0.0)

    def sent(self, now: float) -> None:
        for window in self.windows:
            window.sent.append(now)

    def told_to_wait(self, now: float, seconds: float) -> None:
        self.muted_until = max(self.muted_until, now + seconds)
