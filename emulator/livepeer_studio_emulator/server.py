"""Running the emulator: uvicorn in a background thread on a free loopback port.

.. code-block:: python

    import os

    from livepeer_studio_emulator import run_emulator

    with run_emulator(speed=1000) as emulator:
        os.environ["AIRFLOW_CONN_LIVEPEER_DEFAULT"] = emulator.airflow_conn_json()
        ...  # talk to emulator.url
"""

from __future__ import annotations

import asyncio
import http.client
import os
import signal
import socket
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from types import FrameType
from typing import Any

import uvicorn
from uvicorn.server import ServerState

from livepeer_studio_emulator.app import create_app
from livepeer_studio_emulator.clock import Clock
from livepeer_studio_emulator.faults import FaultConfig
from livepeer_studio_emulator.handle import EmulatorHandle
from livepeer_studio_emulator.media import DEFAULT_FETCH_TIMEOUT, DEFAULT_MAX_SOURCE_BYTES
from livepeer_studio_emulator.state import EmulatorState
from livepeer_studio_emulator.timeline import Durations

__all__ = ["EmulatorHandle", "bind_socket", "make_server", "run_emulator", "start_emulator", "url_for"]


def bind_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening-ready TCP socket on ``host:port`` (port 0: a free one, read with ``getsockname``)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    # Listening now queues early connections in the backlog instead of refusing them.
    sock.listen(128)
    return sock


class _Connections(set[Any]):
    """uvicorn's set of open connections, telling (in the server's event loop) when it becomes empty."""

    def __init__(self) -> None:
        super().__init__()
        self.emptied = asyncio.Event()

    def add(self, connection: Any) -> None:
        super().add(connection)
        self.emptied.clear()

    def discard(self, connection: Any) -> None:
        super().discard(connection)
        if not self:
            self.emptied.set()

    def remove(self, connection: Any) -> None:
        super().remove(connection)
        if not self:
            self.emptied.set()


class _Server(uvicorn.Server):
    """uvicorn's server, woken at once when asked to stop (uvicorn checks only every 0.1 s).

    Tests start and stop an emulator each; this keeps stopping fast.
    """

    _wake: asyncio.Event | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    #: Called once the server accepts requests (the CLI announces its URL then).
    on_started: Callable[[], None] | None = None

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._connections = _Connections()
        if isinstance(getattr(self, "server_state", None), ServerState):
            self.server_state.connections = self._connections

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and self.on_started is not None:
            self.on_started()

    async def main_loop(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864000
            with suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 0.1)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Shut down like uvicorn, without its fixed 0.1 s pause when no connection is left to close.

        Test suites start and stop an emulator per test, so that pause adds up. Falls back to uvicorn's
        own shutdown if its internals differ from what this expects.
        """
        internals = ("servers", "server_state", "_wait_tasks_to_complete", "lifespan", "force_exit")
        if not all(hasattr(self, name) for name in internals):
            await super().shutdown(sockets)
            return
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        if self.server_state.connections is self._connections and self._connections:
            # Connections close as their last answer is sent; give them 0.1 s, as uvicorn does.
            with suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._connections.emptied.wait(), 0.1)
        try:
            await asyncio.wait_for(self._wait_tasks_to_complete(), self.config.timeout_graceful_shutdown)
        except TimeoutError:
            for task in self.server_state.tasks:
                task.cancel(msg="Task cancelled, timeout graceful shutdown exceeded")
        if not self.force_exit:
            await self.lifespan.shutdown()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """On SIGINT/SIGTERM (CLI only): stop gracefully and return from ``run()``.

        uvicorn would record the signal and raise it again after shutting down, killing the process
        before the command can finish; a second Ctrl-C still forces the exit.
        """
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True
        else:
            self.request_exit()

    def request_exit(self) -> None:
        """Ask the server to stop, from any thread."""
        self.should_exit = True
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None and not loop.is_closed():
            # RuntimeError: the loop closed meanwhile, so it is stopping anyway.
            with suppress(RuntimeError):
                loop.call_soon_threadsafe(wake.set)


def make_server(
    state: EmulatorState, log_level: str = "warning", on_started: Callable[[], None] | None = None
) -> uvicorn.Server:
    """A uvicorn server for the emulator app (it installs no signal handlers off the main thread)."""
    config = uvicorn.Config(
        create_app(state),
        log_level=log_level,
        access_log=False,
        lifespan="off",
        http="h11",
        ws="none",
        timeout_graceful_shutdown=2,
    )
    server = _Server(config)
    server.on_started = on_started
    return server


def url_for(host: str, port: int) -> str:
    """``http://host:port``, with IPv6 hosts in brackets."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def start_emulator(
    api_keys: str | Iterable[str] | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    state: EmulatorState | None = None,
    startup_timeout: float = 10.0,
    log_level: str = "warning",
    **state_options: Any,
) -> EmulatorHandle:
    """Start an emulator in a background thread; call :meth:`EmulatorHandle.stop` when done.

    Prefer :func:`run_emulator`, which stops it for you. Arguments are those of :func:`run_emulator`.
    """
    if state is None:
        state = EmulatorState(api_keys, **state_options)
    elif api_keys is not None or state_options:
        raise TypeError("Pass either state= or the options to build one, not both.")
    sock = bind_socket(host, port)
    url = url_for(host, sock.getsockname()[1])
    # Set once the server accepts requests, or its thread ends (e.g. startup failed).
    ready = threading.Event()
    server = make_server(state, log_level, ready.set)

    def serve() -> None:
        try:
            server.run(sockets=[sock])
        finally:
            ready.set()

    thread = threading.Thread(target=serve, name=f"livepeer-emulator-{url}", daemon=True)
    thread.start()
    handle = EmulatorHandle(state, server, thread, url)
    try:
        if not ready.wait(startup_timeout) or not server.started:
            raise RuntimeError(f"The Livepeer emulator did not start on {url} within {startup_timeout} s.")
        # Started means listening; one real request proves it answers.
        _check_health(host, sock.getsockname()[1], startup_timeout)
    except BaseException:
        handle.stop()
        sock.close()
        raise
    return handle


def _check_health(host: str, port: int, timeout: float) -> None:
    # http.client, not httpx: no TLS context to build, which matters when tests start many emulators.
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("GET", "/_emulator/health")
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"The Livepeer emulator's health check answered HTTP {response.status}.")
    finally:
        connection.close()


@contextmanager
def run_emulator(
    api_keys: str | Iterable[str] | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    speed: float = 1.0,
    durations: Durations | None = None,
    state_file: str | os.PathLike[str] | None = None,
    faults: FaultConfig | Mapping[str, Any] | None = None,
    clock: Clock | None = None,
    max_source_bytes: int = DEFAULT_MAX_SOURCE_BYTES,
    fetch_timeout: float = DEFAULT_FETCH_TIMEOUT,
    allow_remote_sources: bool = False,
    max_queued_tasks: int = 100,
    clip_rate_window: float = 300.0,
    list_lag: float = 0.0,
    read_lag: float = 0.0,
    clock_offset: float = 0.0,
    state: EmulatorState | None = None,
    startup_timeout: float = 10.0,
    log_level: str = "warning",
) -> Iterator[EmulatorHandle]:
    """Run a Livepeer Studio emulator on ``host`` (a free port by default) for the ``with`` block.

    :param api_keys: accepted key(s), one account each; default ``$LIVEPEER_EMULATOR_API_KEY`` or
        ``emulator-key``.
    :param host: the address to listen on (keep it loopback: admin endpoints have no auth).
    :param port: the port; 0 picks a free one.
    :param speed: time factor for task phases (1000: a task's seconds become milliseconds).
    :param durations: phase durations at speed 1.
    :param state_file: JSON file to resume from and save to.
    :param faults: initial :class:`FaultConfig` (or its JSON form).
    :param clock: the time source (e.g. a :class:`~.clock.ManualClock`).
    :param max_source_bytes: import size limit.
    :param fetch_timeout: seconds allowed per source fetch.
    :param allow_remote_sources: also fetch non-loopback URLs.
    :param max_queued_tasks: queued tasks per account before 429.
    :param clip_rate_window: seconds in which one requester may schedule 5 clips of a playback id.
    :param list_lag: seconds the task list lags behind single-task reads (a read replica).
    :param read_lag: seconds a new task or asset answers 404 to single reads (the replica too).
    :param clock_offset: seconds added to the tasks' time stamps (an API process's clock skew).
    :param state: serve this state instead of building one (then pass no other state option).
    :param startup_timeout: seconds to wait for the server to answer.
    :param log_level: uvicorn's log level.
    :raises RuntimeError: the server did not start or stop in time.
    """
    fault_config = FaultConfig.model_validate(faults) if isinstance(faults, Mapping) else faults
    options: dict[str, Any] = {}
    if state is None:
        options = {
            "speed": speed,
            "durations": durations,
            "state_file": state_file,
            "faults": fault_config,
            "clock": clock,
            "max_source_bytes": max_source_bytes,
            "fetch_timeout": fetch_timeout,
            "allow_remote_sources": allow_remote_sources,
            "max_queued_tasks": max_queued_tasks,
            "clip_rate_window": clip_rate_window,
            "list_lag": list_lag,
            "read_lag": read_lag,
            "clock_offset": clock_offset,
        }
    handle = start_emulator(
        api_keys,
        host=host,
        port=port,
        state=state,
        startup_timeout=startup_timeout,
        log_level=log_level,
        **options,
    )
    try:
        yield handle
    finally:
        handle.stop()
