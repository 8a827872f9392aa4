"""The explorer section of Symphony's configuration (composed into `symphony.config`).

Why these knobs: where the page listens, how often the chain is polled (new blocks also wake the stream through
the node's websocket when it has one), and how long to wait before retrying an RPC endpoint that went away.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class ExplorerSettings(BaseModel):
    """`symphony explorer`: the read-only network explorer."""

    model_config = ConfigDict(extra="forbid")

    host: str = Field("127.0.0.1", description="listen address")
    port: int = Field(8600, ge=0, le=65535, description="listen port (0: a free port)")
    poll_interval_s: float = Field(0.25, gt=0, description="seconds between polls of the chain")
    retry_s: float = Field(1.0, gt=0, description="seconds before retrying an RPC endpoint that stopped answering")
    checkpoints: Path | None = Field(None, description="SQLite file keeping the explorer's place in the event stream "
                                                        "across restarts (None: in memory, replayed from the deploy block)")
