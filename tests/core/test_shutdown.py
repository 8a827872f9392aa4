"""StopSignal: Ctrl-C / SIGTERM end the wait through a flag; timeouts and failing checks behave."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from core.errors import ConfigError
from core.shutdown import StopSignal


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_ends_the_wait_without_raising(signum):
    before = signal.getsignal(signum)
    with StopSignal() as stop:
        threading.Timer(0.2, os.kill, (os.getpid(), signum)).start()
        start = time.monotonic()
        assert stop.wait(10, every=0.05) is True  # no KeyboardInterrupt, even for SIGINT
        assert time.monotonic() - start < 5
    assert signal.getsignal(signum) == before  # handlers restored


def test_timeout_and_check():
    with StopSignal() as stop:
        assert stop.wait(0.1, every=0.02) is False
        calls = []

        def check() -> None:
            calls.append(1)
            if len(calls) == 3:
                raise ConfigError("child died")

        with pytest.raises(ConfigError, match="child died"):
            stop.wait(every=0.01, check=check)
