"""The server's event loop never waits for the state's lock: a request held up by it holds up no other."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from tests.support.emulator_api import ApiClient


def test_a_request_waiting_for_the_state_lock_does_not_hold_up_the_others(livepeer_emulator: Any) -> None:
    api = ApiClient(livepeer_emulator.url, livepeer_emulator.api_key)
    # The lock a job thread takes to record its result; held here as long as the test wants.
    lock = livepeer_emulator.state._lock
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with lock:
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    assert held.wait(5)
    with ThreadPoolExecutor(1) as pool:
        try:
            waiting = pool.submit(api.get, "/task")
            time.sleep(0.3)  # it reaches the lock and waits there
            assert not waiting.done()
            started = time.monotonic()
            answer = requests.get(f"{livepeer_emulator.url}/_emulator/faults", timeout=3)
            assert answer.status_code == 200
            assert time.monotonic() - started < 1.0
        finally:
            release.set()
            holder.join()
        assert waiting.result(5).status_code == 200
