"""The server's event loop never waits for the state's lock: a request held up by it holds up no other."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

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
