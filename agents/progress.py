"""What an ask is doing, as it happens: one event per thing a user waits on (planning, each beacon's bids and
assignment, each delivery, the vote's commits and reveals, the result).

Why structured events and not log lines: `symphony ask` shows them as lines on a terminal and as JSON lines with
`--json` (for scripts and the explorer), and a test can check what happened without parsing prose. Each event
carries its one-line message too, so every consumer says the same thing.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, TextIO


@dataclass(frozen=True)
class Progress:
    """One step of an ask. `event` is one of EVENTS; `data` holds its plain-JSON facts (ids, agents, scores)."""

    event: str
    message: str
    data: dict[str, Any] = field(default_factory=dict)

    def json_line(self) -> str:
        return json.dumps({"event": self.event, **self.data, "message": self.message}, default=str)

    def __str__(self) -> str:
        return self.message


EVENTS = ("notice", "planning", "planned", "posted", "assigned", "reopened", "reclaimed", "delivered", "committed",
          "reveal_started", "revealed", "finalized", "chain")

ProgressSink = Callable[[Progress], None]


def line_printer(stream: TextIO, render: Callable[[Progress], str]) -> ProgressSink:
    """A sink that writes each event as one whole line of `stream`. Why a lock: an ask's chains report from their
    own threads, and `print` writes the text and the newline separately, so two events could share a line (a
    `--json` consumer then reads two objects as one)."""
    lock = threading.Lock()

    def show(event: Progress) -> None:
        line = render(event) + "\n"
        with lock:
            stream.write(line)
            stream.flush()

    return show


def ignore(_event: Progress) -> None:
    """The sink of an ask nobody watches."""
