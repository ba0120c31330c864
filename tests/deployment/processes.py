"""Processes the deployment runs: each in its own process group, with its output in its own log file."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import psutil  # type: ignore[import-untyped,unused-ignore]

from tests.support.servers import free_port


def wait_until(condition: Callable[[], object], timeout: float, what: str, interval: float = 0.5) -> object:
    """Poll ``condition`` until it returns something truthy and return that; raise ``TimeoutError`` else."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"Timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


class ManagedProcess:
    """A long-running command of the deployment, started in a new session so its whole tree can be stopped.

    :param name: a short name, used for its log file and in messages.
    :param argv: the command.
    :param env: its whole environment.
    :param log_dir: where ``<name>.log`` is written (appended to on a restart).
    :param user: run as this user (only when running as root; PostgreSQL refuses to run as root).
    :param stop_signal: the signal asking for a clean stop.
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        env: Mapping[str, str],
        log_dir: Path,
        *,
        user: str | None = None,
        stop_signal: signal.Signals = signal.SIGTERM,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = dict(env)
        self.log_path = log_dir / f"{name}.log"
        self.user = user
        self.stop_signal = stop_signal
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self) -> ManagedProcess:
        """Start the command (again, after a stop); its output is appended to its log."""
        if self.running:
            raise RuntimeError(f"{self.name} is already running (pid {self.pid})")
        with self.log_path.open("ab") as log:
            log.write(f"\n===== {time.strftime('%H:%M:%S')} start: {' '.join(self.argv)}\n".encode())
            log.flush()
            self.popen = subprocess.Popen(
                self.argv,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                user=self.user,
            )
        return self

    @property
    def pid(self) -> int:
        """The process id of the command."""
        if self.popen is None:
            raise RuntimeError(f"{self.name} was never started")
        return self.popen.pid

    @property
    def running(self) -> bool:
        """Whether the command is still running."""
        return self.popen is not None and self.popen.poll() is None

    def check_running(self) -> None:
        """Raise, with the tail of its log, if the command has exited."""
        if not self.running:
            code = self.popen.returncode if self.popen else None
            raise RuntimeError(f"{self.name} exited with status {code}:\n{self.tail()}")

    def stop(self, timeout: float = 30.0) -> int | None:
        """Ask the process group to stop, kill what is left after ``timeout``; returns the exit status."""
        if self.popen is None:
            return None
        if self.popen.poll() is None:
            self._signal_group(self.stop_signal)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.popen.wait(10)
        # Children that outlived the leader (e.g. a task process) go too: the group must leave no port open.
        self._signal_group(signal.SIGKILL)
        return self.popen.returncode

    def kill(self) -> None:
        """SIGKILL the command and everything it started, as a lost machine would end them.

        Its descendants are killed one by one: a task process runs in a process group of its own.
        """
        tree = self.descendants()
        self._signal_group(signal.SIGKILL)
        for process in tree:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
        assert self.popen is not None
        self.popen.wait(10)

    def _signal_group(self, sig: signal.Signals) -> None:
        assert self.popen is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, sig)

    def descendants(self) -> list[psutil.Process]:
        """The processes the command started (and theirs), alive now."""
        if not self.running:
            return []
        try:
            return list(psutil.Process(self.pid).children(recursive=True))
        except psutil.NoSuchProcess:
            return []

    def tail(self, lines: int = 40) -> str:
        """The last lines of the log."""
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


def postgres_user() -> str | None:
    """The user PostgreSQL runs as: ``postgres`` when this runs as root (PostgreSQL refuses root)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise RuntimeError(
            "Running as root needs the 'postgres' user (Debian's postgresql package)"
        ) from None
    return "postgres"


def postgres_bin() -> Path:
    """The newest Debian PostgreSQL's binaries, ``/usr/lib/postgresql/<major>/bin``."""
    root = Path("/usr/lib/postgresql")
    versions = sorted(
        (p for p in root.glob("*/bin") if (p / "initdb").exists()), key=lambda p: int(p.parent.name)
    )
    if not versions:
        raise RuntimeError(
            f"No PostgreSQL under {root}: install Debian's 'postgresql' package, or set "
            "LIVEPEER_DEPLOYMENT_DB_URL to an existing database (or to 'sqlite' for a quick local run)"
        )
    return versions[-1]


def start_postgres(base: Path, log_dir: Path) -> tuple[ManagedProcess, str]:
    """Initialise a throwaway cluster in ``base`` and run it on a free loopback port.

    :returns: the server process and the SQLAlchemy URL of its ``airflow`` database.
    """
    binaries = postgres_bin()
    user = postgres_user()
    data, sockets = base / "pgdata", base / "pgsocket"
    data.mkdir()
    sockets.mkdir()
    if user is not None:
        entry = pwd.getpwnam(user)
        base.chmod(0o755)  # the postgres user must reach its folders inside the (root-owned) temp dir
        for folder in (data, sockets):
            os.chown(folder, entry.pw_uid, entry.pw_gid)
    init = subprocess.run(
        [str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync"],
        capture_output=True,
        text=True,
        user=user,
        check=False,
    )
    if init.returncode != 0:
        raise RuntimeError(f"initdb failed:\n{init.stdout}\n{init.stderr}")
    port = free_port()
    server = ManagedProcess(
        "postgres",
        [
            str(binaries / "postgres"),
            "-D",
            str(data),
            "-p",
            str(port),
            "-k",
            str(sockets),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=300",
        ],
        {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"},
        log_dir,
        user=user,
        stop_signal=signal.SIGINT,  # PostgreSQL's "fast" shutdown: disconnect clients, then stop
    ).start()

    def create_database() -> bool:
        server.check_running()
        result = subprocess.run(
            [str(binaries / "createdb"), "-h", str(sockets), "-p", str(port), "-U", "postgres", "airflow"],
            capture_output=True,
            text=True,
            user=user,
            check=False,
        )
        return result.returncode == 0

    ready(server, create_database, 60, "PostgreSQL to accept connections")
    return server, f"postgresql+psycopg2://postgres@127.0.0.1:{port}/airflow"


def start_redis(base: Path, log_dir: Path) -> tuple[ManagedProcess, str]:
    """Run Debian's ``redis-server`` on a free loopback port, keeping nothing on disk (the Celery broker).

    :returns: the server process and its URL.
    """
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("No redis-server: install Debian's 'redis-server' package (the Celery broker)")
    port = free_port()
    # No config file: Debian's /etc/redis/redis.conf is the system service's (its port, its dir).
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(base),
            "--save", "", "--appendonly", "no"]  # fmt: skip
    server = ManagedProcess("redis", argv, {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}, log_dir).start()

    def answers_ping() -> bool:
        server.check_running()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as connection:
                connection.sendall(b"PING\r\n")
                return connection.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    ready(server, answers_ping, 30, "Redis to answer")
    return server, f"redis://127.0.0.1:{port}/0"


def ready(server: ManagedProcess, answers: Callable[[], bool], timeout: float, what: str) -> None:
    """Wait until a server just started ``answers``; stop it if it never does (no port left open)."""
    try:
        wait_until(answers, timeout, what)
    except BaseException:
        server.stop()
        raise
