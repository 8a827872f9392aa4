"""Running model-written Python in a separate, limited process.

Why these layers (none alone is a security boundary against a determined attacker, together they contain the
accidents and casual misuse a small model produces):
- a fresh interpreter (`python -I`) in an empty temporary working directory, with a minimal environment, so
  no secret from the agent's environment (private keys, RPC URLs) is visible to the code;
- resource.setrlimit in the child (before any user code): CPU seconds, address space, file size, open
  files; plus a wall-clock timeout that kills the whole process group;
- writes, deletes and renames only inside the temporary working directory (audit hook);
- no network: a fresh network namespace (`unshare -rn`) where the kernel allows it, and in every case a
  Python audit hook that refuses sockets, subprocesses, forks and ctypes before the code runs.
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass

from core.errors import SymphonyError

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


@dataclass(frozen=True)
class SandboxLimits:
    """Per-run limits. Memory is address space (virtual), so leave room for the interpreter and numpy."""

    wall_seconds: float = 10.0
    cpu_seconds: int = 10
    memory_mb: int = 1024
    file_size_mb: int = 16
    open_files: int = 64
    max_output_chars: int = 4000


@dataclass(frozen=True)
class SandboxResult:
    stdout: str
    stderr: str
    returncode: int | None
    timed_out: bool
    network_isolation: str  # "namespace+audit-hook" or "audit-hook"

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out


@functools.lru_cache(maxsize=1)
def _unshare_prefix() -> tuple[str, ...]:
    """['unshare', '-rn'] when this kernel lets us create a network namespace, else () (probed once)."""
    exe = shutil.which("unshare")
    if exe is None:
        return ()
    try:
        probe = subprocess.run([exe, "-rn", "true"], capture_output=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return ()
    return (exe, "-rn") if probe.returncode == 0 else ()


def _truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n... [{len(text) - limit} more characters truncated]"


def run_python(code: str, limits: SandboxLimits = SandboxLimits()) -> SandboxResult:
    """Run `code` in a limited child interpreter and return its (truncated) stdout and stderr."""
    if not isinstance(code, str):
        raise SymphonyError(f"python code must be a string, got {type(code).__name__}")
    prefix = _unshare_prefix()
    isolation = "namespace+audit-hook" if prefix else "audit-hook"
    with tempfile.TemporaryDirectory(prefix="symphony-sandbox-") as workdir:
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": workdir,
            "TMPDIR": workdir,
            "LANG": "C.UTF-8",
            "PYTHONIOENCODING": "utf-8",
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
        }
        mb = 1024 * 1024
        numbers = (limits.cpu_seconds, limits.memory_mb * mb, limits.file_size_mb * mb, limits.open_files)
        argv = [*prefix, sys.executable, "-I", "-c", _PRELUDE, *map(str, numbers)]
        proc = subprocess.Popen(
            argv,
            cwd=workdir,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        timed_out = False
        try:
            stdout, stderr = proc.communicate(code, timeout=limits.wall_seconds)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(proc.pid, signal.SIGKILL)
            stdout, stderr = proc.communicate()
    returncode = proc.returncode
    if returncode is not None and returncode < 0 and -returncode in (signal.SIGXCPU, signal.SIGKILL):
        timed_out = True
    return SandboxResult(
        stdout=_truncate(stdout, limits.max_output_chars),
        stderr=_truncate(_short_traceback(stderr), limits.max_output_chars),
        returncode=returncode,
        timed_out=timed_out,
        network_isolation=isolation,
    )


def _short_traceback(stderr: str) -> str:
    """Drop the prelude's own frames from tracebacks: the model only needs its code's lines and the error."""
    lines = [line for line in stderr.splitlines() if 'File "<string>"' not in line and "exec(_code" not in line]
    return "\n".join(lines) + ("\n" if stderr.endswith("\n") and lines else "")
