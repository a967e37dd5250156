"""A throwaway PostgreSQL server for the tests and the benchmarks.

It is the distribution's own server (Debian's ``postgresql`` package, which ``.ci/run``
installs): ``initdb`` makes a cluster in a temporary directory, ``pg_ctl`` starts it on a random
loopback port with its socket in that directory, and :meth:`PostgresServer.stop` stops it and
removes every file. PostgreSQL refuses to run as root, so as root the cluster belongs to
``nobody``. Connections over TCP need the password (``scram-sha-256``), so a test can prove the
password never shows.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

#: The role and password the cluster is made with (loopback only, gone with the cluster).
USER = "snapcapi"
PASSWORD = "s3cret-pw-never-shown"


class Unavailable(Exception):
    """No PostgreSQL server could be found or started here; the message says why."""


def bin_dir() -> Path:
    """Return the directory holding ``initdb`` and ``pg_ctl``.

    Raises:
        Unavailable: Neither is on PATH nor under /usr/lib/postgresql/*/bin.
    """
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(os.path.realpath(on_path)).parent

    def version(initdb: str) -> int:
        name = Path(initdb).parent.parent.name
        return int(name) if name.isdigit() else 0

    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=version)
    if versions:
        return Path(versions[-1]).parent
    raise Unavailable(
        "PostgreSQL is not installed (no initdb on PATH or in /usr/lib/postgresql/*/bin); "
        "install it with `apt-get install postgresql`"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresServer:
    """One running cluster; :attr:`url` reaches it as a SQLAlchemy URL with psycopg."""

    def __init__(self) -> None:
        self.bin = bin_dir()
        self.root = Path(tempfile.mkdtemp(prefix="snapcapi-pg-"))
        self.data = self.root / "data"
        self.port = 0
        self._user: str | None = "nobody" if os.geteuid() == 0 else None
        self._running = False

    @property
    def url(self) -> str:
        """The SQLAlchemy URL, password included (the tests check it is never shown)."""
        return f"postgresql+psycopg://{USER}:{PASSWORD}@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin / args[0]), *args[1:]],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.root,
            user=self._user,
            env={**os.environ, "LC_ALL": "C.UTF-8", "TZ": "UTC"},
            check=False,
        )

    def start(self) -> PostgresServer:
        """Make the cluster and start it; on any failure stop what did start and clean up.

        Raises:
            Unavailable: initdb or pg_ctl failed (their output is in the message).
        """
        try:
            return self._start()
        except Unavailable:
            raise  # _start stopped and cleaned up already
        except BaseException:
            self.stop()
            raise

    def _start(self) -> PostgresServer:
        password_file = self.root / "pw"
        password_file.write_text(PASSWORD + "\n", encoding="utf-8")
        if self._user is not None:
            self.root.chmod(0o755)
            for path in (self.root, password_file):
                shutil.chown(path, user=self._user)
        made = self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            USER,
            f"--pwfile={password_file}",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "-E",
            "UTF8",
            "--no-instructions",
        )
        if made.returncode != 0:
            self.stop()
            raise Unavailable(f"initdb failed: {made.stderr.strip() or made.stdout.strip()}")
        for _attempt in range(3):  # a random port can be taken between the probe and the start
            self.port = _free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            )
            started = self._run(
                "pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-w", "-t", "60",
                "-o", options, "start",
            )  # fmt: skip
            if started.returncode == 0:
                self._running = True
                return self
        log_file = self.root / "log"
        log = log_file.read_text("utf-8", errors="replace")[-2000:] if log_file.exists() else ""
        self.stop()
        raise Unavailable(f"pg_ctl could not start PostgreSQL: {started.stderr.strip()} {log}")

    def stop(self) -> None:
        """Stop the server (immediately: nothing in it is kept) and remove its files."""
        # pg_ctl -w can give up waiting while the server goes on starting: stop whatever runs.
        if self._running or (self.data / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.TimeoutExpired):
                stop = ("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
                self._run(*stop, timeout=60)
            self._running = False
        shutil.rmtree(self.root, ignore_errors=True)
