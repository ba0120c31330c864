"""The handle of a running emulator: its URL and keys, Airflow connections, and control for tests."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import uvicorn

from livepeer_studio_emulator.faults import FaultConfig
from livepeer_studio_emulator.outcomes import Outcome, OutcomeResult, OutcomeRule
from livepeer_studio_emulator.request_log import RequestRecord
from livepeer_studio_emulator.state import EmulatorState


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

    def add_account(
        self, api_key: str, project_of: str | None = None, *, cors_key_of: str | None = None
    ) -> str:
        """Accept another API key; returns its user id.

        :param project_of: a known key: the new key is then one of a non-default project of its user.
        :param cors_key_of: a known key: the new key is then a CORS-enabled key with restricted access (a
            browser key) of its user and project; only a few endpoints answer it, while the task list,
            transcode, clip and asset delete answer 403.
        """
        return self.state.add_account(api_key, project_of, cors_key_of=cors_key_of).user_id

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
        return self.state.request_log.all()

    def request_count(
        self, method: str | None = None, path: str | None = None, status: int | None = None
    ) -> int:
        """How many API requests matched, e.g. ``request_count("GET", "/api/task/*")``."""
        return self.state.request_log.count(method, path, status)

    def reset_requests(self) -> None:
        """Forget the logged requests."""
        self.state.request_log.clear()

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

    def webhook_calls(self) -> list[dict[str, Any]]:
        """The webhook calls made, oldest first (see :meth:`.cannon.WebhookCannon.calls`)."""
        return self.state.cannon.calls()

    def wait_for_jobs(self, timeout: float = 10.0) -> bool:
        """Wait until no import fetch or export is running; ``False`` on timeout."""
        return self.state.wait_for_jobs(timeout)

    @property
    def running(self) -> bool:
        """Whether the server thread is alive."""
        return self._thread.is_alive()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server and wait for its thread (idempotent)."""
        request_exit = getattr(self._server, "request_exit", None)
        if request_exit is not None:
            request_exit()  # wakes the server at once
        else:
            self._server.should_exit = True
        self._thread.join(timeout)
        self.state.close()
        if self._thread.is_alive():
            raise RuntimeError(f"The Livepeer emulator at {self.url} did not stop within {timeout} s.")
