"""Start a process in a bubblewrap sandbox, as an unprivileged user, with limits.

What the process sees (everything else is absent, not merely unreadable):
``/usr`` and the interpreter's and the venv's folders read-only, the package
folder replaced by a copy the judge prepares (:mod:`.poison`), the folders the
caller names read-only, a fresh ``/proc`` of its own pid namespace, a minimal
``/dev`` and one size-capped tmpfs at ``/tmp``, the only writable place. No
network (its own network namespace: loopback only), no IPC or UTS sharing,
its own session (no terminal to inject into), killed with its parent, and a
clean environment.

Run as root (recommended), bubblewrap mounts the sandbox (the interpreter may
live in a 0700 home, pyenv under /root, that an unprivileged bwrap could not
bind) and, before the student's interpreter starts, ``setpriv`` drops to the
unprivileged uid ``nobody`` with no capabilities, no new privileges and no
supplementary groups: the student's code is nobody outside the sandbox too.
Run as an ordinary user (an instructor without root), bubblewrap uses a user
namespace instead: nobody inside, the instructor's uid outside, which sees only
the same read-only binds and scratch. rlimits (address space, CPU seconds,
file size, processes, open files) are set before bwrap starts and are
inherited; the wall clock is the caller's (:class:`Sandbox` kills the whole
process group).
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import sysconfig
from dataclasses import dataclass

BWRAP = "/usr/bin/bwrap"
SETPRIV = "/usr/bin/setpriv"
NOBODY = 65534


@dataclass
class Limits:
    """Per-process limits. ``memory`` and ``file_size`` in bytes, ``cpu`` in s."""

    memory: int = 2 * 2**30
    cpu: int = 120
    file_size: int = 16 * 2**20
    processes: int = 64
    open_files: int = 256
    scratch: int = 64 * 2**20


def available():
    """None if sandboxes can run here, else the reason they cannot."""
    if os.name != "posix" or not sys.platform.startswith("linux"):
        return "the sandbox needs Linux"
    for tool, package in ((BWRAP, "bubblewrap"), (SETPRIV, "util-linux")):
        if not os.access(tool, os.X_OK):
            return f"{tool} is missing (Debian: apt-get install {package})"
    if os.geteuid() != 0:
        probe = subprocess.run(bwrap_command(["/usr/bin/true"]), capture_output=True,
                               timeout=60)
        if probe.returncode != 0:
            return ("this kernel refuses unprivileged user namespaces; run the"
                    " grader as root (bubblewrap then drops to nobody inside)")
    return None


def _dirs_for(paths):
    """``--dir`` every ancestor, world-traversable (bwrap would copy 0700 modes)."""
    made, args = set(), []
    for path in paths:
        parts = os.path.normpath(path).split(os.sep)[1:-1]
        for i in range(1, len(parts) + 1):
            parent = "/" + "/".join(parts[:i])
            if parent not in made and parent not in ("/usr", "/tmp", "/proc", "/dev"):
                made.add(parent)
                args += ["--perms", "0755", "--dir", parent]
    return args


def interpreter_dirs():
    """The folders an interpreter of this venv needs: base prefix, venv, stdlib."""
    dirs = {os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix),
            os.path.abspath(sys.prefix)}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        dirs.add(os.path.realpath(sysconfig.get_paths()[key]))
    return sorted(d for d in dirs if not d.startswith("/usr/") and d != "/usr"
                  and os.path.isdir(d))


CHANNEL_ENV = "COURSENET_GRADING_FDS"


def bwrap_command(argv, binds=(), overlays=(), cwd="/tmp", limits=None,
                  channel=None):
    """The bwrap command line running ``argv``; ``binds``/``overlays`` are
    (source, dest) pairs bound read-only (overlays after binds: they hide what
    lies under them, e.g. the real package inside the venv)."""
    limits = limits or Limits()
    ro = [(d, d) for d in interpreter_dirs()] + list(binds) + list(overlays)
    args = [BWRAP, "--unshare-ipc", "--unshare-pid", "--unshare-net",
            "--unshare-uts", "--unshare-cgroup-try", "--die-with-parent",
            "--new-session", "--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib64", "lib32", "libx32"):
        if os.path.islink("/" + name):
            args += ["--symlink", os.readlink("/" + name), "/" + name]
    for name in ("/etc/ld.so.cache", "/etc/localtime", "/etc/fonts"):
        if os.path.exists(name):
            args += ["--ro-bind", name, name]
    args += ["--proc", "/proc", "--dev", "/dev",
             "--size", str(limits.scratch), "--perms", "1777", "--tmpfs", "/tmp"]
    args += _dirs_for(dest for _, dest in ro)
    for source, dest in ro:
        args += ["--ro-bind", source, dest]
    env = {"HOME": "/tmp", "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8",
           "MPLCONFIGDIR": "/tmp", "OPENBLAS_NUM_THREADS": "1",
           "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1",
           "PYTHONHASHSEED": "0", "TQDM_DISABLE": "1"}
    if channel:
        env[CHANNEL_ENV] = ",".join(str(fd) for fd in channel)
    args += ["--clearenv"]
    for key, value in env.items():
        args += ["--setenv", key, value]
    if os.geteuid() != 0:  # an instructor without root: a user namespace
        args[1:1] = ["--unshare-user", "--uid", str(NOBODY), "--gid", str(NOBODY)]
        return args + ["--chdir", cwd, "--", *argv]
    args += ["--chdir", cwd, "--", SETPRIV, f"--reuid={NOBODY}", f"--regid={NOBODY}",
             "--clear-groups", "--no-new-privs", "--inh-caps=-all",
             "--bounding-set=-all", "--"]
    return args + list(argv)


def _own_processes():
    """How many processes this uid runs (RLIMIT_NPROC counts them all)."""
    uid, count = str(os.getuid()), 0
    for pid in os.listdir("/proc"):
        try:
            with open(f"/proc/{pid}/status", encoding="ascii") as status:
                count += any(line.split()[1:2] == [uid] for line in status
                             if line.startswith("Uid:"))
        except (OSError, ValueError):
            continue
    return count


def _set_limits(limits):
    # as root, RLIMIT_NPROC binds only after the drop to nobody; as a user it
    # counts the instructor's own processes too
    processes = limits.processes + (_own_processes() if os.geteuid() else 0)

    def apply():
        for kind, value in ((resource.RLIMIT_AS, limits.memory),
                            (resource.RLIMIT_CPU, limits.cpu),
                            (resource.RLIMIT_FSIZE, limits.file_size),
                            (resource.RLIMIT_NPROC, processes),
                            (resource.RLIMIT_NOFILE, limits.open_files),
                            (resource.RLIMIT_CORE, 0)):
            resource.setrlimit(kind, (value, value))
    return apply


class Sandbox:
    """A sandboxed process and the grader's ends of its channel's two pipes."""

    def __init__(self, argv, binds=(), overlays=(), cwd="/tmp", limits=None,
                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL):
        to_child, self.write_fd = os.pipe()
        self.read_fd, from_child = os.pipe()
        # bwrap and setpriv pass inherited descriptors on; the worker finds its
        # two in the environment (CHANNEL_ENV)
        command = bwrap_command(argv, binds, overlays, cwd, limits,
                                channel=(to_child, from_child))
        self.process = subprocess.Popen(
            command, stdin=stdin, stdout=stdout,
            stderr=None if os.environ.get("COURSENET_GRADING_DEBUG") else
            subprocess.DEVNULL,
            pass_fds=(to_child, from_child), start_new_session=True,
            preexec_fn=_set_limits(limits or Limits()), close_fds=True)
        os.close(to_child)
        os.close(from_child)

    def cpu_seconds(self):
        """CPU seconds used so far by every process of the sandbox (bwrap, the
        worker, any child it forked, reaped or not), read from the host's
        /proc: measured outside, so nothing the student's code does can lower
        it (``sys.settrace(None)`` can hide a loop from a line counter, not
        from this)."""
        ticks, parents, stats = os.sysconf("SC_CLK_TCK"), {}, {}
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as file:
                    fields = file.read().rsplit(b")", 1)[1].split()
            except (OSError, IndexError):
                continue  # ended meanwhile
            pid = int(entry.name)
            parents[pid] = int(fields[1])  # field 4, ppid
            stats[pid] = sum(int(f) for f in fields[11:15])  # utime .. cstime
        tree = {self.process.pid}
        grew = True
        while grew:
            more = {p for p, parent in parents.items() if parent in tree} - tree
            grew, tree = bool(more), tree | more
        total = sum(stats.get(pid, 0) for pid in tree)
        return total / ticks

    def stop(self, grace=0.0):
        """Kill the sandbox (its pid namespace dies with bwrap); its exit status.
        ``grace``: seconds to wait for it to end by itself first."""
        if grace:
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        status = self.process.wait()
        for fd in (self.write_fd, self.read_fd):
            try:
                os.close(fd)
            except OSError:
                pass
        return status
