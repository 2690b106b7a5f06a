"""Child process of :mod:`rlpost.rewards.instruction_following.sandbox`: runs untrusted ``check_following`` code,
one call at a time.

Run as a script (``python -I _sandbox_child.py SCRATCH MEMORY_MB TIMEOUT_S PRELOAD``), it imports nothing from
rlpost. Protocol: one JSON object per line on stdin (``{"code": ..., "instruction": ..., "response": ...}``), one
JSON result per line on the original stdout (``{"ok": bool, "value": bool|None, "error": str|None}``); the first
line out is ``{"ready": true, "netns": bool}``. Guards, strongest first:

- resource limits: address space (``RLIMIT_AS``), no core files, no file written above 1 MB;
- a fresh network namespace when the kernel allows it (root or user namespaces): no interface but loopback;
- a Python audit hook (PEP 578): opening, listing or changing paths outside the call's scratch folder (read-only
  access to the interpreter's own library folders excepted, so ``import`` works), sockets, subprocesses, ``fork``,
  ``exec``, ``ctypes`` and changes to the hook itself are refused. The hook is a Python-level guard, not a kernel
  sandbox: code that reaches native code through an already-imported extension module can bypass it;
- a per-call timer (``SIGALRM``) that interrupts Python-level loops; the parent kills the process on a hang that
  the timer cannot interrupt.
"""

import json
import os
import resource
import shutil
import signal
import sys
import traceback

_BLOCKED_EVENTS = ("socket.", "subprocess.", "os.system", "os.exec", "os.fork", "os.forkpty", "os.posix_spawn",
                   "os.spawn", "os.kill", "os.killpg", "ctypes.", "pty.", "sys.addaudithook", "sys.setprofile",
                   "sys.settrace", "shutil.", "webbrowser.", "urllib.", "http.", "ftplib.", "smtplib.", "telnetlib.",
                   "imaplib.", "poplib.", "nntplib.", "glob.glob")
_PATH_EVENTS = {"open", "os.listdir", "os.scandir", "os.chdir", "os.mkdir", "os.remove", "os.rename", "os.rmdir",
                "os.chmod", "os.chown", "os.link", "os.symlink", "os.truncate", "os.utime", "os.walk"}
_WRITE_EVENTS = _PATH_EVENTS - {"open", "os.listdir", "os.scandir"}

_state = {"scratch": "", "armed": False}


def _inside(path, folder):
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _read_only_roots():
    roots = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.__file__))}
    roots |= {os.path.realpath(p) for p in sys.path if p and os.path.isdir(p)}
    return tuple(sorted(roots))


def _audit(event, args):
    if not _state["armed"]:
        return
    if event.startswith(_BLOCKED_EVENTS):
        raise PermissionError(f"sandbox: {event} is not allowed")
    if event not in _PATH_EVENTS or not args:
        return
    target = args[0]
    if isinstance(target, int) or target is None:  # a file descriptor already granted
        return
    path = os.path.realpath(os.fsdecode(target))
    if _inside(path, _state["scratch"]):
        return
    writing = event in _WRITE_EVENTS or (event == "open" and len(args) > 1 and isinstance(args[1], str)
                                         and any(c in args[1] for c in "wax+"))
    if event == "open" and len(args) > 2 and isinstance(args[2], int) and args[2] & (os.O_WRONLY | os.O_RDWR):
        writing = True
    if not writing and any(_inside(path, root) for root in _state["roots"]):
        return
    raise PermissionError(f"sandbox: {event} {path} is outside the scratch folder")


def _new_netns():
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.unshare(0x40000000) == 0  # CLONE_NEWNET
    except (OSError, AttributeError):
        return False


class _CallTimeout(BaseException):
    """Raised by the per-call timer; a BaseException so a checker's ``except Exception`` cannot swallow it."""


def _on_alarm(signum, frame):
    raise _CallTimeout()


def _run_one(item, timeout_s):
    namespace = {"__name__": "checker", "__builtins__": __builtins__}
    signal.setitimer(signal.ITIMER_REAL, timeout_s)
    try:
        exec(compile(item["code"], "<checker>", "exec"), namespace)  # noqa: S102 - this process is the sandbox
        func = namespace.get("check_following")
        if not callable(func):
            return {"ok": False, "value": None, "error": "no check_following function"}
        try:
            value = func(item.get("instruction", ""), item["response"])
        except TypeError as err:
            if "positional argument" not in str(err):
                raise
            value = func(item["response"])
        if not isinstance(value, bool):
            return {"ok": False, "value": None, "error": f"check_following returned {type(value).__name__}, not bool"}
        return {"ok": True, "value": value, "error": None}
    except _CallTimeout:
        return {"ok": False, "value": None, "error": f"timed out after {timeout_s:g} s"}
    except MemoryError:
        return {"ok": False, "value": None, "error": "memory limit exceeded"}
    except BaseException as err:  # noqa: BLE001 - every failure of untrusted code is reported, never raised
        last = traceback.extract_tb(err.__traceback__)[-1:] if err.__traceback__ else []
        where = f" (line {last[0].lineno})" if last and last[0].filename == "<checker>" else ""
        return {"ok": False, "value": None, "error": f"{type(err).__name__}: {err}{where}"[:300]}
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def main():
    scratch, memory_mb, timeout_s, preload = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
    out = os.fdopen(os.dup(1), "w", buffering=1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - checker prints go nowhere
    netns = _new_netns()
    for name in filter(None, preload.split(",")):
        try:
            __import__(name)
        except ImportError:
            pass
    resource.setrlimit(resource.RLIMIT_AS, (memory_mb << 20, memory_mb << 20))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))
    signal.signal(signal.SIGALRM, _on_alarm)
    scratch = os.path.realpath(scratch)
    _state["roots"] = _read_only_roots()
    sys.addaudithook(_audit)
    out.write(json.dumps({"ready": True, "netns": netns}) + "\n")
    for n, line in enumerate(sys.stdin):
        item = json.loads(line)
        folder = os.path.join(scratch, f"call{n}")
        os.mkdir(folder)
        os.chdir(folder)
        _state["scratch"], _state["armed"] = folder, True
        result = _run_one(item, timeout_s)
        _state["armed"] = False
        os.chdir(scratch)
        shutil.rmtree(folder, ignore_errors=True)
        out.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
