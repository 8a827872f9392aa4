"""Running model-written Python in a separate, limited process: the one sandbox of the project.

Why these layers (none alone is a security boundary against a determined attacker, together they contain the
accidents and casual misuse a small model or a planner produces):
- a fresh interpreter (`python -I`) in an empty temporary working directory, with a minimal environment (no
  inherited PATH, keys or RPC URLs), so no secret from the caller's environment is visible to the code;
- resource.setrlimit applied by a prelude inside the child, before any user code: CPU seconds, address
  space, file size, open files (no `preexec_fn`, which is unsafe in a threaded or asyncio process);
- writes, deletes and renames only inside the temporary working directory (audit hook);
- no network: a fresh network namespace (`unshare -rn`) where the kernel allows it, and in every case a
  Python audit hook that refuses sockets, subprocesses, forks and ctypes before the code runs;
- a wall-clock timeout that kills the whole process group, and output captured only up to a cap.

Why input files are copied, not served: tasks read data files (`open('sales.csv')`), but the served folder
must not become the working directory the code can write into. The regular files directly inside `files`
(no symlinks, none larger than the file-size limit, at most `input_files_mb` together) are copied into the
temporary directory, which is deleted afterwards.

Why one asynchronous implementation: an MCP call's cancellation must stop the work, so `run_python_async`
kills the process group when its awaiting task is cancelled, and reports progress about every 0.5 s.
`run_python` (for the agents' synchronous tool loop) runs that same coroutine in its own event loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import math
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Awaitable, Callable, Iterator

from pydantic import BaseModel, Field

from tools.errors import PermanentToolError

__all__ = [
    "PythonInput",
    "PythonOutput",
    "PythonRunError",
    "SandboxError",
    "SandboxLimits",
    "SandboxResult",
    "checked_output",
    "run_python",
    "run_python_async",
]

PROGRESS_INTERVAL_S = 0.5
MAX_CODE_CHARS = 50_000
_MB = 1024 * 1024

Progress = Callable[[float, float | None, str | None], Awaitable[None]]

# Runs inside the child before the user's code: apply the limits (argv), then install an audit hook, which
# cannot be removed afterwards. Writes are confined to the working directory because the agent may run as a
# user that owns the project (or as root in a container).
_PRELUDE = r"""
import os, resource, sys
_cpu, _mem, _fsize, _nofile = (int(a) for a in sys.argv[1:5])
resource.setrlimit(resource.RLIMIT_CPU, (_cpu, _cpu + 1))
resource.setrlimit(resource.RLIMIT_AS, (_mem, _mem))
resource.setrlimit(resource.RLIMIT_FSIZE, (_fsize, _fsize))
resource.setrlimit(resource.RLIMIT_NOFILE, (_nofile, _nofile))
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
_ROOT = os.path.realpath(os.getcwd())
_BLOCKED = ("socket.", "subprocess.", "os.system", "os.exec", "os.posix_spawn", "os.fork", "os.forkpty",
            "os.spawn", "os.kill", "os.killpg", "signal.pthread_kill", "ctypes.dlsym", "ctypes.call_function",
            "ctypes.cdata", "pty.", "resource.setrlimit",
            "resource.prlimit", "webbrowser.", "urllib.Request", "http.client.", "ftplib.", "smtplib.",
            "imaplib.", "poplib.", "telnetlib.", "nntplib.")
_PATH_EVENTS = {"os.remove": 1, "os.rmdir": 1, "os.mkdir": 1, "os.chmod": 1, "os.chown": 1, "os.truncate": 1,
                "os.utime": 1, "os.rename": 2, "os.link": 2, "os.symlink": 2, "shutil.rmtree": 1,
                "shutil.move": 2, "shutil.copyfile": 2, "os.chdir": 1, "os.chroot": 1}
_realpath, _join, _isinstance, _PermissionError = os.path.realpath, os.path.join, isinstance, PermissionError
def _inside(path):
    if _isinstance(path, int):
        return True  # an already-open descriptor
    if _isinstance(path, bytes):
        path = path.decode(errors="replace")
    full = _realpath(_join(_ROOT, str(path)))
    return full == _ROOT or full.startswith(_ROOT + "/")
def _guard(event, args):
    if event.startswith(_BLOCKED) or (event == "ctypes.dlopen" and args and args[0] is not None):
        # ctypes itself dlopen()s the running process at import (numpy needs that); loading other
        # libraries or looking up / calling C functions is what a bypass would need.
        raise _PermissionError(f"sandbox: {event} is not allowed")
    if event == "open" and args and args[0] is not None:
        mode, flags = args[1] or "r", args[2] or 0
        if (any(c in str(mode) for c in "wax+") or flags & 0o3 or flags & 0o100) and not _inside(args[0]):
            raise _PermissionError(f"sandbox: writing {args[0]!r} outside the working directory")
    elif event in _PATH_EVENTS:
        for path in args[: _PATH_EVENTS[event]]:
            if not _inside(path):
                raise _PermissionError(f"sandbox: {event} on {path!r} outside the working directory")
sys.addaudithook(_guard)
del _guard
sys.argv = ["<python>"]
_source = sys.stdin.read()
_code = compile(_source, "<python>", "exec")
del _source
exec(_code, {"__name__": "__main__"})
"""


class SandboxError(PermanentToolError):
    """The run could not be set up as asked (code that is not text, a missing input folder, bad limits)."""


class PythonRunError(PermanentToolError):
    """The code ran but failed: it timed out or exited with a non-zero status (the message says how)."""


@dataclass(frozen=True)
class SandboxLimits:
    """Per-run limits. Memory is address space (virtual), so leave room for the interpreter and numpy."""

    wall_seconds: float = 10.0
    cpu_seconds: int = 10
    memory_mb: int = 1024
    file_size_mb: int = 16
    open_files: int = 64
    max_output_chars: int = 4000
    input_files_mb: int = 64

    def __post_init__(self) -> None:
        numbers = {name: getattr(self, name) for name in self.__dataclass_fields__}
        bad = [f"{name}={value!r}" for name, value in numbers.items() if not value > 0]
        if bad:
            raise SandboxError(f"sandbox limits must be positive: {', '.join(bad)}")


@dataclass(frozen=True)
class SandboxResult:
    stdout: str
    stderr: str
    returncode: int | None
    timed_out: bool
    network_isolation: str  # "namespace+audit-hook" or "audit-hook"
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out


class PythonInput(BaseModel):
    code: str = Field(min_length=1, max_length=MAX_CODE_CHARS, description="Python source; print() the result")
    timeout_s: float = Field(default=10.0, gt=0, le=120, description="wall-clock limit in seconds")
    memory_mb: int = Field(default=512, ge=64, le=4096, description="address-space limit in MiB")

    def limits(self, max_output_chars: int = 20_000) -> SandboxLimits:
        """Sandbox limits for this request: the CPU limit just above the wall clock, so the wall clock decides."""
        return SandboxLimits(wall_seconds=self.timeout_s, cpu_seconds=math.ceil(self.timeout_s) + 1,
                             memory_mb=self.memory_mb, max_output_chars=max_output_chars)


class PythonOutput(BaseModel):
    stdout: str
    stderr: str
    exit_code: int
    seconds: float


def checked_output(result: SandboxResult, limits: SandboxLimits) -> PythonOutput:
    """The output of a successful run; a timeout or a non-zero exit raises PythonRunError (one line)."""
    if result.timed_out:
        raise PythonRunError(f"code ran past its {limits.wall_seconds:g} s timeout and was killed")
    exit_code = result.returncode if result.returncode is not None else -1
    if exit_code != 0:
        tail = result.stderr.strip().splitlines()[-3:] or [f"exit code {exit_code}"]
        raise PythonRunError("python failed: " + " | ".join(tail))
    return PythonOutput(stdout=result.stdout, stderr=result.stderr, exit_code=exit_code, seconds=round(result.seconds, 3))


def run_python(code: str, limits: SandboxLimits = SandboxLimits(), files: Path | None = None) -> SandboxResult:
    """Run `code` in a limited child interpreter (blocking) and return its truncated stdout and stderr."""
    job = run_python_async(code, limits, files)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(job)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:  # called from inside an event loop
        return pool.submit(asyncio.run, job).result()


async def run_python_async(
    code: str, limits: SandboxLimits = SandboxLimits(), files: Path | None = None, progress: Progress | None = None
) -> SandboxResult:
    """Run `code` in a limited child interpreter. Cancelling the awaiting task kills the whole process group."""
    if not isinstance(code, str):
        raise SandboxError(f"python code must be a string, got {type(code).__name__}")
    prefix = _unshare_prefix()
    isolation = "namespace+audit-hook" if prefix else "audit-hook"
    capture = limits.max_output_chars * 4 + 64  # bytes: enough for max_output_chars UTF-8 characters
    with _working_directory(files, limits) as workdir:
        numbers = (limits.cpu_seconds, limits.memory_mb * _MB, limits.file_size_mb * _MB, limits.open_files)
        starting = asyncio.ensure_future(asyncio.create_subprocess_exec(
            *prefix, sys.executable, "-I", "-c", _PRELUDE, *map(str, numbers),
            cwd=workdir,
            env=_environment(workdir),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        ))
        try:
            proc = await asyncio.shield(starting)
        except asyncio.CancelledError:
            # Cancelled while the child was being started: it exists (or soon will) and would wait for its code
            # on stdin for ever, so finish starting it and kill it before letting the cancellation through.
            with contextlib.suppress(BaseException):
                started_proc = await starting
                _kill_group(started_proc.pid)
                await started_proc.wait()
            raise
        started = time.monotonic()
        io = asyncio.ensure_future(_communicate(proc, code.encode("utf-8", errors="replace"), capture))
        timed_out = False
        try:
            if progress is not None:
                await progress(0.0, limits.wall_seconds, f"started pid {proc.pid}")
            while not io.done():
                remaining = limits.wall_seconds - (time.monotonic() - started)
                if remaining <= 0:
                    timed_out = True
                    _kill_group(proc.pid)
                    break
                await asyncio.wait({io}, timeout=min(PROGRESS_INTERVAL_S, remaining))
                if not io.done() and progress is not None:
                    await progress(round(time.monotonic() - started, 2), limits.wall_seconds, "running")
            (stdout, stdout_cut), (stderr, stderr_cut) = await io
        except BaseException:  # cancelled (e.g. the MCP call was), or the progress callback failed: stop the work
            _kill_group(proc.pid)
            io.cancel()
            with contextlib.suppress(BaseException):
                await proc.wait()
            raise
        seconds = time.monotonic() - started
    returncode = proc.returncode
    if returncode is not None and returncode < 0 and -returncode in (signal.SIGXCPU, signal.SIGKILL):
        timed_out = True
    return SandboxResult(
        stdout=_truncate(stdout.decode("utf-8", errors="replace"), stdout_cut, limits.max_output_chars),
        stderr=_truncate(_short_traceback(stderr.decode("utf-8", errors="replace")), stderr_cut, limits.max_output_chars),
        returncode=returncode,
        timed_out=timed_out,
        network_isolation=isolation,
        seconds=seconds,
    )


async def _communicate(proc: asyncio.subprocess.Process, code: bytes, capture: int) -> tuple[tuple[bytes, bool], tuple[bytes, bool]]:
    """Feed the code on stdin and read both pipes to the end, keeping at most `capture` bytes of each."""

    async def feed() -> None:
        assert proc.stdin is not None
        try:
            proc.stdin.write(code)
            await proc.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the child died before reading everything; its exit status tells why
        finally:
            proc.stdin.close()

    assert proc.stdout is not None and proc.stderr is not None
    _, out, err = await asyncio.gather(feed(), _drain(proc.stdout, capture), _drain(proc.stderr, capture))
    await proc.wait()
    return out, err


async def _drain(stream: asyncio.StreamReader, capture: int) -> tuple[bytes, bool]:
    """Everything the stream yields, of which the first `capture` bytes are kept; True if some were dropped."""
    kept = bytearray()
    cut = False
    while chunk := await stream.read(65536):
        room = capture - len(kept)
        kept += chunk[: max(room, 0)]
        cut = cut or len(chunk) > room
    return bytes(kept), cut


def _environment(workdir: str) -> dict[str, str]:
    """The child's whole environment: nothing is inherited from the caller."""
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": workdir,
        "TMPDIR": workdir,
        "LANG": "C.UTF-8",
        "PYTHONIOENCODING": "utf-8",
        "PYTHONHASHSEED": "0",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }


@contextlib.contextmanager
def _working_directory(files: Path | None, limits: SandboxLimits) -> Iterator[str]:
    """A fresh temporary directory holding copies of the input files; removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="symphony-sandbox-") as workdir:
        if files is not None:
            _copy_inputs(Path(files), Path(workdir), limits)
        yield workdir


def _copy_inputs(folder: Path, workdir: Path, limits: SandboxLimits) -> None:
    """Copy the regular files directly inside `folder` (not symlinks, not subfolders) within the size limits."""
    if not folder.is_dir():
        raise SandboxError(f"input folder {folder} does not exist")
    budget = limits.input_files_mb * _MB
    for entry in sorted(folder.iterdir()):
        try:
            fd = os.open(entry, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            continue  # a symlink (O_NOFOLLOW), or unreadable
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > min(limits.file_size_mb * _MB, budget):
            os.close(fd)
            continue
        budget -= info.st_size
        with os.fdopen(fd, "rb") as source, open(workdir / entry.name, "wb") as target:
            shutil.copyfileobj(source, target)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


@functools.lru_cache(maxsize=1)
def _unshare_prefix() -> tuple[str, ...]:
    """('unshare', '-rn') when this kernel lets us create a network namespace, else () (probed once)."""
    exe = shutil.which("unshare")
    if exe is None:
        return ()
    try:
        probe = subprocess.run([exe, "-rn", "true"], capture_output=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return ()
    return (exe, "-rn") if probe.returncode == 0 else ()


def _truncate(text: str, cut: bool, limit: int) -> str:
    if len(text) <= limit and not cut:
        return text
    return text[:limit] + f"\n... [output truncated to {limit} characters]"


def _short_traceback(stderr: str) -> str:
    """Drop the prelude's own frames from tracebacks: the model only needs its code's lines and the error."""
    lines = [line for line in stderr.splitlines() if 'File "<string>"' not in line and "exec(_code" not in line]
    return "\n".join(lines) + ("\n" if stderr.endswith("\n") and lines else "")
