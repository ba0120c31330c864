"""Running the emulator: uvicorn in a background thread on a free loopback port.

.. code-block:: python

    import os

    from airflow_provider_livepeer.emulator import run_emulator

    with run_emulator(speed=1000) as emulator:
        os.environ["AIRFLOW_CONN_LIVEPEER_DEFAULT"] = emulator.airflow_conn_json()
        ...  # talk to emulator.url
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from types import FrameType
from typing import Any
from urllib.parse import quote

import uvicorn

from airflow_provider_livepeer.emulator.app import create_app
from airflow_provider_livepeer.emulator.clock import Clock
from airflow_provider_livepeer.emulator.faults import FaultConfig, RequestRecord
from airflow_provider_livepeer.emulator.media import DEFAULT_FETCH_TIMEOUT, DEFAULT_MAX_SOURCE_BYTES
from airflow_provider_livepeer.emulator.outcomes import Outcome, OutcomeResult, OutcomeRule
from airflow_provider_livepeer.emulator.state import EmulatorState
from airflow_provider_livepeer.emulator.timeline import Durations


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


class _Server(uvicorn.Server):
    """uvicorn's server, woken at once when asked to stop (uvicorn checks only every 0.1 s).

    Tests start and stop an emulator each; this keeps stopping fast.
    """

    _wake: asyncio.Event | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    #: Called once the server accepts requests (the CLI announces its URL then).
    on_started: Callable[[], None] | None = None

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
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 0.1
        while self.server_state.connections and loop.time() < deadline:
            await asyncio.sleep(0.002)
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


class EmulatorHandle:
    """A running emulator, as :func:`run_emulator` yields it.

    :ivar url: the base URL, e.g. ``http://127.0.0.1:54321`` (no trailing slash, no ``/api``).
    :ivar api_url: ``url`` + ``/api``.
    :ivar state: the :class:`EmulatorState` it serves.
    """

    def __init__(
        self, state: EmulatorState, server: uvicorn.Server, thread: threading.Thread, url: str
    ) -> None:
        self.state = state
        self.url = url
        self.api_url = f"{url}/api"
        self._server = server
        self._thread = thread

    def __repr__(self) -> str:
        return f"EmulatorHandle(url={self.url!r})"

    @property
    def api_key(self) -> str:
        """The main account's API key."""
        return self.state.api_keys[0]

    @property
    def api_keys(self) -> list[str]:
        """All accepted API keys (one account each), the main one first."""
        return self.state.api_keys

    def add_account(self, api_key: str, project_of: str | None = None) -> str:
        """Accept another API key; returns its user id.

        :param project_of: a known key: the new key is then one of a non-default project of its user.
        """
        return self.state.add_account(api_key, project_of).user_id

    def user_id(self, api_key: str | None = None) -> str:
        """The user id of a key's account (the main one by default)."""
        return self.state.account(api_key).user_id

    # ------------------------------------------------------------ Airflow connections

    def airflow_conn_uri(self, api_key: str | None = None) -> str:
        """An Airflow connection URI (conn type ``livepeer``) for this emulator.

        The host keeps its ``http://`` scheme, URL-encoded as Airflow does for hosts with a protocol:
        ``livepeer://:KEY@http%3A%2F%2F127.0.0.1%3A54321``.

        :param api_key: the key to use as the password (the main one by default).
        """
        key = api_key or self.api_key
        return f"livepeer://:{quote(key, safe='')}@{quote(self.url, safe='')}"

    def airflow_conn_json(self, api_key: str | None = None) -> str:
        """The same connection in Airflow's JSON form.

        ``{"conn_type": "livepeer", "host": "http://127.0.0.1:PORT", "password": KEY}``
        """
        return json.dumps({"conn_type": "livepeer", "host": self.url, "password": api_key or self.api_key})

    def airflow_env(self, conn_id: str = "livepeer_default", api_key: str | None = None) -> dict[str, str]:
        """``{"AIRFLOW_CONN_<CONN_ID>": <json>}``, to put in ``os.environ`` or ``monkeypatch.setenv``."""
        return {f"AIRFLOW_CONN_{conn_id.upper()}": self.airflow_conn_json(api_key)}

    # ------------------------------------------------------------ faults and outcomes

    @property
    def faults(self) -> FaultConfig:
        """The current fault config."""
        return self.state.faults.config

    def set_faults(
        self, config: FaultConfig | Mapping[str, Any] | None = None, **options: Any
    ) -> FaultConfig:
        """Replace the fault config; see :class:`FaultConfig`.

        E.g. ``set_faults(rates={"503": 0.5}, seed=1)`` or ``set_faults(queue=["503", "drop"])``.
        """
        if isinstance(config, FaultConfig):
            new = config.model_copy(update=options) if options else config
        else:
            new = FaultConfig.model_validate({**(config or {}), **options})
        self.state.faults.configure(new)
        return self.faults

    def clear_faults(self) -> None:
        """No more faults."""
        self.state.faults.configure(FaultConfig())

    def script_outcome(
        self,
        url: str | None = None,
        outcome: OutcomeResult = "complete",
        *,
        error_message: str | None = None,
        retries: int = 0,
        retry_error_message: str | None = None,
        task_type: str | None = None,
        playback_id: str | None = None,
        times: int | None = None,
    ) -> OutcomeRule:
        """Script how the next matching tasks end (see :mod:`.outcomes`).

        ``script_outcome(url, "fail", error_message="corrupt file")`` fails every import of ``url``;
        ``script_outcome(url, retries=2)`` makes it error twice, then complete.

        :param url: match the source URL (import, transcode input) or custom export target.
        :param outcome: ``complete``, ``fail``, ``cancel`` or ``stall``.
        :param error_message: the final error of a failed or cancelled task.
        :param retries: errors (each retried by Livepeer) before the outcome, 0 to 2.
        :param retry_error_message: the error shown while each retry waits.
        :param task_type: match the task type.
        :param playback_id: match a clip's playback id.
        :param times: apply to this many tasks only.
        """
        rule = OutcomeRule(
            outcome=Outcome(outcome, error_message, retries, retry_error_message),
            url=url,
            task_type=task_type,
            playback_id=playback_id,
            times=times,
        )
        return self.state.add_outcome_rule(rule)

    def clear_outcomes(self) -> None:
        """Remove all scripted outcomes."""
        self.state.clear_outcome_rules()

    # ------------------------------------------------------------ requests

    @property
    def requests(self) -> list[RequestRecord]:
        """The API requests the emulator saw (method, path, query, status, fault), oldest first."""
        return self.state.requests()

    def request_count(
        self, method: str | None = None, path: str | None = None, status: int | None = None
    ) -> int:
        """How many API requests matched, e.g. ``request_count("GET", "/api/task/*")``."""
        return self.state.request_count(method, path, status)

    def reset_requests(self) -> None:
        """Forget the logged requests."""
        self.state.reset_requests()

    # ------------------------------------------------------------ state

    def reset(self) -> None:
        """Forget all tasks, assets, outcomes, faults and requests (the accounts stay)."""
        self.state.reset()

    def task(self, task_id: str) -> dict[str, Any]:
        """A task as its owner sees it now, without an HTTP call."""
        return self.state.task_view(task_id)

    def asset(self, asset_id: str) -> dict[str, Any]:
        """An asset as its owner sees it now (with tracks, deleted or not), without an HTTP call."""
        return self.state.asset_view(asset_id)

    def add_recording_session(self, stream_id: str, recording_url: str) -> str:
        """Give a stream a recording session, recorded as the media file at ``recording_url``.

        :returns: the session id (a clip's ``sessionId``).
        :raises KeyError: unknown stream.
        """
        return str(self.state.add_recording_session(stream_id, recording_url)["id"])

    def wait_for_jobs(self, timeout: float = 10.0) -> bool:
        """Wait until no import fetch or export is running; ``False`` on timeout."""
        return self.state.wait_for_jobs(timeout)

    @property
    def running(self) -> bool:
        """Whether the server thread is alive."""
        return self._thread.is_alive()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server and wait for its thread (idempotent)."""
        if isinstance(self._server, _Server):
            self._server.request_exit()
        else:
            self._server.should_exit = True
        self._thread.join(timeout)
        self.state.close()
        if self._thread.is_alive():
            raise RuntimeError(f"The Livepeer emulator at {self.url} did not stop within {timeout} s.")


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
    server = make_server(state, log_level)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"livepeer-emulator-{url}", daemon=True
    )
    thread.start()
    handle = EmulatorHandle(state, server, thread, url)
    deadline = time.monotonic() + startup_timeout
    try:
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(
                    f"The Livepeer emulator did not start on {url} within {startup_timeout} s."
                )
            time.sleep(0.005)
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
