"""A Fargate container for one machine: a Batch job's process run as its image and job
definition would run it, in a bubblewrap sandbox.

What the sandbox reproduces (``docs/decisions.md`` says what it cannot):

- the image's ``USER`` (a real uid/gid switch, with ``setpriv``, no capabilities left);
- a read-only root filesystem when the job definition asks for one (the host's files,
  read-only, stand in for the image's; the image's ``/tmp`` is part of that root);
- only the job definition's volumes writable, each a new empty folder owned as Fargate
  creates a bind mount: root, mode 0755, unless the image declares that path a ``VOLUME``
  whose owner and mode its Dockerfile sets (``install -d -o UID -g GID -m MODE``,
  ``chown``, ``chmod``);
- only the environment the container would have: the image's ``ENV``, the job definition's
  ``Environment``, what Batch and ECS add (``AWS_BATCH_*``, the region), and the job role's
  credentials;
- its own PID namespace, ended with the job (a killed attempt leaves no process behind).

The network is the machine's (the jobs reach the local S3 and FASTA hosts on loopback).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
ROOT_OWNED = (0, 0, 0o755)  # how Fargate creates a bind mount that the image does not declare


class ContainerError(RuntimeError):
    """The machine cannot run a job as its container would (no bubblewrap, not root)."""


@dataclass
class Image:
    """What a Dockerfile's last stage says about the running container."""

    user: tuple[int, int] = (0, 0)
    env: dict[str, str] = field(default_factory=dict)
    workdir: str = "/"
    volumes: list[str] = field(default_factory=list)
    owners: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # path -> (uid, gid, mode)

    @classmethod
    def from_dockerfile(cls, path: Path) -> Image:
        text = re.sub(r"\\\n", " ", path.read_text())
        lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
        last = max(i for i, line in enumerate(lines) if line.upper().startswith("FROM "))
        image = cls()
        for line in lines[last + 1 :]:
            keyword, _, rest = line.partition(" ")
            keyword, rest = keyword.upper(), rest.strip()
            if keyword == "USER":
                uid, _, gid = rest.partition(":")
                image.user = (int(uid), int(gid or uid))
            elif keyword == "ENV":
                image.env.update(_env_pairs(rest))
            elif keyword == "WORKDIR":
                image.workdir = rest
            elif keyword == "VOLUME":
                image.volumes += re.findall(r'"([^"]+)"', rest) if rest.startswith("[") else rest.split()
            elif keyword == "RUN":
                image.owners.update(_ownership(rest))
        return image

    def mount_owner(self, path: str) -> tuple[int, int, int]:
        """Owner and mode of a bind mount at ``path`` (Fargate: the image's, if it declares it)."""
        if path in self.volumes:
            return self.owners.get(path, ROOT_OWNED)
        return ROOT_OWNED


def _env_pairs(text: str) -> dict[str, str]:
    words = shlex.split(text)
    if words and "=" not in words[0]:
        return {words[0]: " ".join(words[1:])}
    return dict(word.split("=", 1) for word in words if "=" in word)


def _ownership(command: str) -> dict[str, tuple[int, int, int]]:
    """Owners and modes the Dockerfile's RUN commands give to folders (the forms our images use)."""
    found: dict[str, tuple[int, int, int]] = {}
    for part in re.split(r"&&|;", command):
        words = shlex.split(part)
        if not words:
            continue
        if words[0] == "install" and "-d" in words:
            uid = gid = 0
            mode = 0o755
            paths = []
            items = iter(words[1:])
            for word in items:
                if word == "-o":
                    uid = int(next(items))
                elif word == "-g":
                    gid = int(next(items))
                elif word == "-m":
                    mode = int(next(items), 8)
                elif not word.startswith("-"):
                    paths.append(word)
            found.update({p: (uid, gid, mode) for p in paths})
        elif words[0] == "chown" and len(words) >= 3:
            user, _, group = words[-2].partition(":")
            for target in words[-1:]:
                mode = found.get(target, ROOT_OWNED)[2]
                found[target] = (int(user), int(group or user), mode)
        elif words[0] == "chmod" and len(words) >= 3 and re.fullmatch(r"[0-7]{3,4}", words[-2]):
            uid, gid, _ = found.get(words[-1], ROOT_OWNED)
            found[words[-1]] = (uid, gid, int(words[-2], 8))
    return found


def check_available() -> None:
    """Raise :class:`ContainerError` unless jobs can run as containers here."""
    missing = [tool for tool in ("bwrap", "setpriv") if shutil.which(tool) is None]
    if missing:
        raise ContainerError(
            f"{' and '.join(missing)} not found: the local Batch host runs each job as its container "
            "(apt-get install bubblewrap util-linux; scripts/setup.sh does)"
        )
    if os.geteuid() != 0:
        raise ContainerError("the local Batch host switches to the image's user: run as root (or see docs)")


def _traversable(path: Path) -> bool:
    return bool(path.stat().st_mode & stat.S_IXOTH)


@dataclass
class Sandbox:
    """The bubblewrap command for one attempt, and the volumes it made (removed by close).

    :meth:`start` runs it and learns the sandbox's first process (bwrap's ``--info-fd``), the
    init of its PID namespace; :meth:`close` kills that process, and with it every process of
    the sandbox, as a task's end ends all its processes. Killing bwrap alone is not enough:
    ``--die-with-parent`` leaves a window, while bwrap starts, in which the sandbox lives on
    (found by a test that kills attempts at once: the killed attempt finished its work)."""

    argv: list[str]
    volumes: list[Path]
    init_pid: int | None = None

    def start(self, log: Any) -> subprocess.Popen[bytes]:
        read, write = os.pipe()
        argv = [self.argv[0], "--info-fd", str(write), *self.argv[1:]]
        try:
            process = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, env={}, start_new_session=True, pass_fds=(write,)
            )
        finally:
            os.close(write)
        info = b""
        with os.fdopen(read, "rb") as said:  # bwrap writes it once the sandbox's process exists
            while b"}" not in info and (chunk := said.read1(4096)):
                info += chunk
        with contextlib.suppress(ValueError, KeyError):
            self.init_pid = int(json.loads(info)["child-pid"])
        return process

    def close(self) -> None:
        if self.init_pid is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(self.init_pid, signal.SIGKILL)  # the PID namespace's init: all of it goes
        for folder in self.volumes:
            shutil.rmtree(folder, ignore_errors=True)


def host_paths_needed() -> list[Path]:
    """What the stand-in for the image must see of this machine: the interpreter and the package."""
    import pavi

    needed = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()}
    needed |= {Path(p).resolve().parent for p in pavi.__path__}
    return sorted(needed)


def sandbox(
    argv: list[str],
    image: Image,
    readonly_root: bool,
    mounts: tuple[tuple[str, bool], ...],
    env: dict[str, str],
    scratch: Path,
    readable: tuple[Path, ...] = (),
) -> Sandbox:
    """``argv`` run as ``image``'s user in a container of this job definition; ``readable``:
    host folders the job may read (local genomes, which stand in for a genome host)."""
    args = ["bwrap", "--die-with-parent", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--new-session"]
    needed = host_paths_needed()
    hidden: list[Path] = []
    for entry in sorted(Path("/").iterdir()):
        if entry.name in {"proc", "dev", "tmp", "sys"}:
            continue
        if entry.is_symlink():
            args += ["--symlink", os.readlink(entry), str(entry)]
        elif entry.is_dir() and not _traversable(entry):  # e.g. /root: only what the job needs
            args += ["--dir", str(entry)]
            hidden.append(entry)
        else:
            args += ["--ro-bind", str(entry), str(entry)]
    made: set[Path] = set()

    def expose(path: Path, under: list[Path]) -> None:
        """Bind ``path`` (as named: through links too) read-only where the sandbox has its own
        folders (bwrap would make the folders above it 0700)."""
        path = Path(os.path.abspath(path))
        top = next((top for top in under if path.is_relative_to(top)), None)
        if top is None:
            return
        for ancestor in reversed(path.parents):
            if ancestor.is_relative_to(top) and ancestor != top and ancestor not in made:
                args.extend(["--perms", "0755", "--dir", str(ancestor)])
                made.add(ancestor)
        args.extend(["--ro-bind", str(path.resolve()), str(path)])

    args += ["--proc", "/proc", "--dev", "/dev", "--ro-bind", "/sys", "/sys"]
    volumes = []
    tmp_mounted = any(path == "/tmp" for path, _ in mounts)
    if not tmp_mounted:
        if readonly_root:
            args += ["--dir", "/tmp"]  # the image's /tmp: read-only with the rest of the root
        else:
            folder = Path(tempfile.mkdtemp(prefix="tmp-", dir=scratch))
            folder.chmod(0o1777)
            volumes.append(folder)
            args += ["--bind", str(folder), "/tmp"]
    for container_path, read_only in mounts:
        folder = Path(tempfile.mkdtemp(prefix="volume-", dir=scratch))
        uid, gid, mode = image.mount_owner(container_path)
        os.chown(folder, uid, gid)
        folder.chmod(mode)
        volumes.append(folder)
        args += ["--dir", container_path, "--ro-bind" if read_only else "--bind", str(folder), container_path]
    # the stand-in for the image's interpreter and package, and the local genome folders (which
    # stand in for a genome host), wherever they are: under a folder the sandbox makes its own too
    for path in dict.fromkeys([*needed, *readable, *(folder.resolve() for folder in readable)]):
        expose(path, [*hidden, Path("/tmp")])
    if readonly_root:
        args += ["--remount-ro", "/"]
    args += ["--chdir", image.workdir if Path(image.workdir).is_dir() or image.workdir == "/" else "/"]
    args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--clearenv"]
    for key, value in env.items():
        args += ["--setenv", key, value]
    uid, gid = image.user
    args += ["--", "setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--inh-caps=-all", *argv]
    return Sandbox(args, volumes)


TIMED_OUT = -1000  # watch(): the attempt ran past its time-out
OUT_OF_MEMORY = -1001  # watch(): the container went over its memory
OOM_REASON = "OutOfMemoryError: Container killed due to memory usage"  # ECS's container reason
WATCH_SECONDS = 0.1


def watch(process: subprocess.Popen[bytes], timeout: float | None, memory_mib: int | None) -> int:
    """Wait for a container's process as ECS does: its exit code; :data:`TIMED_OUT` when its
    attempt lasts past ``timeout`` seconds, :data:`OUT_OF_MEMORY` when the resident memory of its
    processes goes over ``memory_mib`` (Fargate kills the task: issue 29, item 2). Either way the
    process is killed."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        try:
            return process.wait(timeout=WATCH_SECONDS)
        except subprocess.TimeoutExpired:
            pass
        over = memory_mib is not None and resident_mib(process.pid) > memory_mib
        if over or (deadline is not None and time.monotonic() > deadline):
            process.kill()
            process.wait()
            return OUT_OF_MEMORY if over else TIMED_OUT


def resident_mib(root: int) -> float:
    """The resident memory (MiB) of process ``root`` and every process below it, from ``/proc``."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    total_kib, stack = 0, [root]
    while stack:
        pid = stack.pop()
        stack += children.get(pid, [])
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        total_kib += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
    return total_kib / 1024


def memory_of(requirements: Any) -> int | None:
    """The MiB of a Batch ``ResourceRequirements`` list (its ``MEMORY``, in either casing), or None."""
    for requirement in requirements or []:
        if str(requirement.get("Type", requirement.get("type", ""))).upper() == "MEMORY":
            return int(str(requirement.get("Value", requirement.get("value"))))
    return None
