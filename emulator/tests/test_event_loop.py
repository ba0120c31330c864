"""The event loop never waits for a lock nor does a request's work: a held-up request holds up no other."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from livepeer_studio_emulator import listing, payloads

from tests.support.emulator_api import ApiClient
from tests.support.locks import WatchedLock


def test_a_request_waiting_for_the_state_lock_does_not_hold_up_the_others(
    livepeer_emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = ApiClient(livepeer_emulator.url, livepeer_emulator.api_key)
    # The lock a job thread takes to record its result; held here as long as the test wants.
    lock = livepeer_emulator.state._lock
    watched = WatchedLock(lock)
    monkeypatch.setattr(livepeer_emulator.state, "_lock", watched)
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with lock:
            held.set()
            release.wait(60)

    holder = threading.Thread(target=hold)
    holder.start()
    assert held.wait(30)
    with ThreadPoolExecutor(1) as pool:
        try:
            waiting = pool.submit(api.get, "/task")
            assert watched.waiting.wait(30), "the task list never reached the state's lock"
            # The order, not a time, is the proof: asked while the first waits on the lock, the second is
            # answered, and the first is still not.
            answer = requests.get(f"{livepeer_emulator.url}/_emulator/faults", timeout=30)
            assert answer.status_code == 200
            assert not waiting.done()
        finally:
            release.set()
            holder.join()
        assert waiting.result(30).status_code == 200


class Gate:
    """Wraps a function: each call waits until the test opens the gate; ``entered`` says one is waiting."""

    def __init__(self, function: Callable[..., Any]) -> None:
        self._function = function
        self.entered, self.opened = threading.Event(), threading.Event()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.entered.set()
        self.opened.wait(60)
        return self._function(*args, **kwargs)


def held_in(emulator: Any, monkeypatch: pytest.MonkeyPatch, where: str) -> Gate:
    """Hold the requests that reach a step of a handler's work (paging, the request log, body parsing...)."""
    owner, name = {
        "paging": (listing, "paginate"),
        "request log": (emulator.state.request_log, "all"),
        "body parsing": (payloads, "parse_body"),
        "outcome rules": (emulator.state, "add_outcome_rule"),
    }[where]
    gate = Gate(getattr(owner, name))
    monkeypatch.setattr(owner, name, gate)
    return gate


@pytest.mark.parametrize(
    ("where", "method", "path", "body", "status"),
    [
        ("paging", "GET", "/api/task", None, 200),
        ("request log", "GET", "/_emulator/requests", None, 200),
        ("body parsing", "POST", "/api/stream", {"name": "held"}, 201),
        (
            "outcome rules",
            "POST",
            "/_emulator/outcomes",
            {"url": "https://e.com/a.mp4", "outcome": "fail"},
            201,
        ),
    ],
)
def test_a_request_held_up_in_its_work_does_not_hold_up_the_others(
    livepeer_emulator: Any,
    monkeypatch: pytest.MonkeyPatch,
    where: str,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    status: int,
) -> None:
    gate = held_in(livepeer_emulator, monkeypatch, where)
    headers = {"Authorization": f"Bearer {livepeer_emulator.api_key}"}
    with ThreadPoolExecutor(1) as pool:
        try:
            held = pool.submit(
                requests.request,
                method,
                f"{livepeer_emulator.url}{path}",
                json=body,
                headers=headers,
                timeout=60,
            )
            assert gate.entered.wait(30), f"the request never reached its {where}"
            # Had the held step run on the event loop, this one could not be answered before it.
            answer = requests.get(f"{livepeer_emulator.url}/_emulator/faults", timeout=30)
            assert answer.status_code == 200
            assert not held.done()
        finally:
            gate.opened.set()
        assert held.result(30).status_code == status
