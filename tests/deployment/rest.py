"""Airflow's public REST API, as the scenarios use it: ``/api/v2`` on Airflow 3, ``/api/v1`` on Airflow 2."""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any
from urllib.parse import quote

import requests

#: A DAG run's or task instance's states that do not change any more.
FINISHED = {"success", "failed", "skipped", "upstream_failed", "removed"}


class AirflowRest:
    """A client of one deployment's REST API.

    :param base_url: the api-server's (webserver's) URL.
    :param major: Airflow's major version: 3 uses ``/api/v2`` and a token from ``/auth/token``
        (SimpleAuthManager with all users admins); 2 uses ``/api/v1`` with basic auth.
    """

    def __init__(self, base_url: str, major: int, username: str = "admin", password: str = "admin") -> None:
        self.base_url = base_url
        self.major = major
        self.api = f"{base_url}/api/{'v2' if major >= 3 else 'v1'}"
        self.session = requests.Session()
        self.username, self.password = username, password

    def login(self) -> None:
        """Authenticate the session."""
        if self.major >= 3:
            answer = self.session.get(f"{self.base_url}/auth/token", timeout=30)
            answer.raise_for_status()
            self.session.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
        else:
            self.session.auth = (self.username, self.password)

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Send a request to ``<api>/<path>``, retrying while the server is briefly unreachable."""
        for attempt in range(5):
            try:
                return self.session.request(method, f"{self.api}/{path}", timeout=60, **kwargs)
            except requests.ConnectionError:
                if attempt == 4:
                    raise
                time.sleep(1)
        raise AssertionError("unreachable")

    def get(self, path: str, **params: Any) -> Any:
        """GET a JSON answer, failing on an error status."""
        answer = self.request("GET", path, params=params)
        assert answer.ok, f"GET {path}: {answer.status_code} {answer.text}"
        return answer.json()

    def post(self, path: str, body: dict[str, Any]) -> Any:
        """POST JSON, failing on an error status."""
        answer = self.request("POST", path, json=body)
        assert answer.ok, f"POST {path}: {answer.status_code} {answer.text}"
        return answer.json()

    # ------------------------------------------------------------------------------------------ DAGs

    def dag_ready(self, dag_id: str) -> bool:
        """Whether the DAG is parsed and not paused."""
        answer = self.request("GET", f"dags/{dag_id}")
        return answer.status_code == 200 and not answer.json()["is_paused"]

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None) -> str:
        """Start a DAG run; returns its run id."""
        body: dict[str, Any] = {"conf": conf or {}}
        if self.major >= 3:
            body["logical_date"] = None
        return str(self.post(f"dags/{dag_id}/dagRuns", body)["dag_run_id"])

    def run_state(self, dag_id: str, run_id: str) -> str:
        """A DAG run's state."""
        return str(self.get(f"dags/{dag_id}/dagRuns/{quote(run_id)}")["state"])

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float) -> str:
        """Wait until a DAG run finishes; returns its state."""
        deadline = time.monotonic() + timeout
        while True:
            state = self.run_state(dag_id, run_id)
            if state in FINISHED or time.monotonic() > deadline:
                return state
            time.sleep(1)

    def task_instances(self, dag_id: str, run_id: str, task_id: str | None = None) -> list[dict[str, Any]]:
        """A run's task instances (mapped ones each), optionally of one task, page by page."""
        found: list[dict[str, Any]] = []
        while True:
            page = self.get(
                f"dags/{dag_id}/dagRuns/{quote(run_id)}/taskInstances", limit=100, offset=len(found)
            )["task_instances"]
            found.extend(page)
            if len(page) < 100:
                break
        return [ti for ti in found if task_id is None or ti["task_id"] == task_id]

    def states(self, dag_id: str, run_id: str, task_id: str | None = None) -> dict[str | None, int]:
        """How many task instances are in each state."""
        counts: dict[str | None, int] = {}
        for ti in self.task_instances(dag_id, run_id, task_id):
            counts[ti["state"]] = counts.get(ti["state"], 0) + 1
        return counts

    def wait_for_states(
        self, dag_id: str, run_id: str, task_id: str, state: str, count: int, timeout: float
    ) -> list[dict[str, Any]]:
        """Wait until ``count`` instances of a task are in ``state``; fail at once if the run ends first."""
        deadline = time.monotonic() + timeout
        while True:
            instances = self.task_instances(dag_id, run_id, task_id)
            if sum(ti["state"] == state for ti in instances) >= count:
                return instances
            seen = Counter(ti["state"] for ti in instances)
            run_state = self.run_state(dag_id, run_id)
            assert run_state not in FINISHED, (
                f"run {run_id} ended {run_state} first: {self.states(dag_id, run_id)}"
            )
            assert time.monotonic() < deadline, f"not {count} x {task_id} {state} in {timeout} s: {seen}"
            time.sleep(2)

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str, map_index: int = -1) -> Any:
        """An XCom's value, as JSON; ``None`` when the task has not pushed it (yet)."""
        path = f"dags/{dag_id}/dagRuns/{quote(run_id)}/taskInstances/{task_id}/xcomEntries/{key}"
        params: dict[str, Any] = {"map_index": map_index}
        if self.major < 3:
            params.update(deserialize="true", stringify="false")
        answer = self.request("GET", path, params=params)
        if answer.status_code == 404:
            return None
        assert answer.ok, f"GET {path}: {answer.status_code} {answer.text}"
        return answer.json()["value"]

    def extra_links(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> dict[str, Any]:
        """A task instance's extra links, name to URL."""
        answer = self.get(
            f"dags/{dag_id}/dagRuns/{quote(run_id)}/taskInstances/{task_id}/links", map_index=map_index
        )
        return dict(answer["extra_links"] if self.major >= 3 else answer)

    # ------------------------------------------------------------------------------------ connections

    def create_connection(
        self,
        conn_id: str,
        conn_type: str,
        host: str,
        password: str,
        port: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        """Store a connection in the metadata database (``extra``: its extras, stored as JSON)."""
        body: dict[str, Any] = {"connection_id": conn_id, "conn_type": conn_type, "host": host}
        body["password"] = password
        if port is not None:
            body["port"] = port
        if extra is not None:
            body["extra"] = json.dumps(extra)
        self.post("connections", body)

    def connection(self, conn_id: str) -> dict[str, Any]:
        """A stored connection, as the REST API shows it (its password masked)."""
        return dict(self.get(f"connections/{conn_id}"))

    def test_connection(self, conn_id: str, conn_type: str, host: str, password: str) -> dict[str, Any]:
        """The api-server's connection test: ``{"status": bool, "message": str}``."""
        body = {"connection_id": conn_id, "conn_type": conn_type, "host": host, "password": password}
        answer = self.request("POST", "connections/test", json=body)
        assert answer.ok, f"POST connections/test: {answer.status_code} {answer.text}"
        return dict(answer.json())
