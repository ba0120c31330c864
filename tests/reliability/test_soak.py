"""Soak: hundreds of imports through the operators', sensors' and triggers' code paths under faults.

The emulator injects 5xx (JSON and an HTML proxy page), 429 with and without ``Retry-After``, dropped
connections and latency spikes on every API request. Each import waits in one of the provider's styles:

* ``operator``: :class:`LivepeerImportAssetOperator` ``execute`` (create, then poll in-process);
* ``wait``: ``hook.import_asset`` then :func:`wait_for_task` (what a poke-mode sensor loop does);
* ``reschedule``: a fresh reschedule-mode :class:`LivepeerTaskSensor` (and hook, and HTTP session)
  ``execute`` for every try, until it stops raising ``AirflowRescheduleException``;
* ``trigger-shared`` / ``trigger-polling``: :class:`LivepeerTaskTrigger` rebuilt from its serialized
  kwargs and run, many at once in one event loop, then the sensor's ``execute_complete`` on its event.

While the triggers run the fault rates are lower (see ``TRIGGER_FAULTS``): a trigger builds its own hook
with the default backoff, so every 5xx costs it seconds; the synchronous styles get the full mix.

One import in ten is scripted to fail with its own message. Every one must end as planned: the scripted
ones failed with their message, the others completed with exactly the emulator's asset (id, assetSpec,
size and hashes of the real file). None lost, no work created twice, and the requests stay under a bound.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_livepeer.exceptions import LivepeerTaskFailedError
from airflow_provider_livepeer.hooks.livepeer import LivepeerHook
from airflow_provider_livepeer.operators.livepeer import LivepeerImportAssetOperator
from airflow_provider_livepeer.sensors.livepeer import LivepeerTaskSensor
from airflow_provider_livepeer.triggers.livepeer import LivepeerTaskTrigger
from airflow_provider_livepeer.waiting import wait_for_task
from tests.support.airflow import AirflowRescheduleException, prepare_thread
from tests.support.running import RecordingTI, context, fast_hook, trigger_events

LOG = logging.getLogger("tests.reliability.soak")

#: Every ten imports: two operators, three waits, two reschedule loops, three triggers (two shared).
STYLE_CYCLE = (
    "operator",
    "wait",
    "reschedule",
    "trigger-shared",
    "operator",
    "wait",
    "reschedule",
    "trigger-shared",
    "wait",
    "trigger-polling",
)
SYNC_STYLES = frozenset({"operator", "wait", "reschedule"})

#: The faults while the synchronous styles run (hooks with fast retries): 20% 5xx, 10% 429 (half with
#: ``Retry-After: 0``), 5% dropped connections, and a 50 ms latency spike on 10% of the requests.
SYNC_FAULTS: dict[str, Any] = {
    "rates": {
        "500": 0.06,
        "502": 0.04,
        "html-502": 0.04,
        "503": 0.06,
        "429": 0.05,
        "429-no-retry-after": 0.05,
        "drop": 0.05,
    },
    "retry_after": 0,
    "spike_rate": 0.1,
    "spike_ms": 50,
}
#: The same kinds while the triggers run, at lower rates: a trigger builds its own hook with the default
#: backoff (1 s, doubling), so each 5xx costs it seconds; 429s with ``Retry-After: 0`` cost nothing.
TRIGGER_FAULTS: dict[str, Any] = {
    "rates": {"503": 0.03, "html-502": 0.02, "429": 0.08, "429-no-retry-after": 0.02, "drop": 0.03},
    "retry_after": 0,
    "spike_rate": 0.1,
    "spike_ms": 50,
}

POLL = 0.02
WAIT_TIMEOUT = 60.0
MAX_POKES = 2000
SYNC_WORKERS = 8
TRIGGER_POLL = 0.05
TRIGGER_LIMIT = 60.0
#: The bound on API requests per import (create, polls, and every retry of either).
REQUESTS_PER_IMPORT = 12
#: Tries per call. After a lost answer each try of an import is two requests (the look for the task it
#: may have made, then the create), and at these fault rates 58 % of such tries fail: 12 tries would
#: give up on about one such import in 400, 24 on one in 300,000.
SOAK_ATTEMPTS = 24


def soak_hook(conn_id: str) -> LivepeerHook:
    return fast_hook(conn_id, max_attempts=SOAK_ATTEMPTS)


@dataclass
class Planned:
    """One import of the soak and what became of it."""

    index: int
    style: str
    url: str
    name: str
    fail_message: str | None
    task_id: str | None = None
    status: str = "lost"
    error: str | None = None
    failure: LivepeerTaskFailedError | None = None
    views: dict[str, Any] = field(default_factory=dict)


def plan(count: int, source_url: str, round_no: int) -> list[Planned]:
    """``count`` imports of distinct URLs; the scripted failure moves through the cycle's positions."""
    planned = []
    for i in range(count):
        fails = i % 10 == (i // 10) % 10
        planned.append(
            Planned(
                index=i,
                style=STYLE_CYCLE[i % len(STYLE_CYCLE)],
                url=f"{source_url}?round={round_no}&n={i}",
                name=f"soak {round_no}-{i}",
                fail_message=f"scripted failure of import {round_no}-{i}: corrupt moov atom"
                if fails
                else None,
            )
        )
    return planned


def record_failure(item: Planned, err: LivepeerTaskFailedError) -> None:
    item.status, item.failure = "failed", err
    item.task_id = item.task_id or err.livepeer_task_id


def run_sync(item: Planned, conn_id: str) -> None:
    """Run one import in its synchronous style; record how it ended instead of raising."""
    try:
        if item.style == "operator":
            ti = RecordingTI(task_id=f"import_{item.index}")
            op = LivepeerImportAssetOperator(
                task_id=ti.task_id,
                url=item.url,
                name=item.name,
                livepeer_conn_id=conn_id,
                poll_interval=POLL,
                timeout=WAIT_TIMEOUT,
            )
            op.hook = soak_hook(conn_id)
            try:
                item.views["return_value"] = op.execute(context(ti))
            finally:
                item.task_id = ti.xcoms.get("livepeer_task_id")
                item.views["xcoms"] = ti.xcoms
        elif item.style == "wait":
            hook = soak_hook(conn_id)
            item.task_id = hook.import_asset(item.url, item.name).task.id
            result = wait_for_task(hook, item.task_id, poll_interval=POLL, timeout=WAIT_TIMEOUT, log=LOG)
            item.views["result"] = result.model_dump(mode="json")
        else:
            item.task_id = soak_hook(conn_id).import_asset(item.url, item.name).task.id
            ti = RecordingTI(task_id=f"wait_{item.index}")
            deadline = time.monotonic() + WAIT_TIMEOUT
            for _ in range(MAX_POKES):
                # Each try of a reschedule-mode sensor is a new operator object, hook and HTTP session.
                sensor = LivepeerTaskSensor(
                    task_id=ti.task_id,
                    livepeer_task_id=item.task_id,
                    livepeer_conn_id=conn_id,
                    mode="reschedule",
                    poke_interval=POLL,
                    timeout=WAIT_TIMEOUT,
                )
                sensor.hook = soak_hook(conn_id)
                try:
                    item.views["return_value"] = sensor.execute(context(ti))
                except AirflowRescheduleException:
                    ti.first_reschedule_date = ti.first_reschedule_date or datetime.now(UTC)
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"reschedule loop gave up on {item.task_id}") from None
                    time.sleep(POLL)
                    continue
                item.views["xcoms"] = ti.xcoms
                break
            else:
                raise TimeoutError(f"reschedule loop tried {MAX_POKES} times without an end")
        item.status = "completed"
    except LivepeerTaskFailedError as err:
        record_failure(item, err)
    except Exception as err:
        item.status, item.error = "error", f"{type(err).__name__}: {err}"


async def run_trigger(item: Planned, conn_id: str) -> None:
    """Create the import, defer to a trigger rebuilt from its serialized form, then resume the sensor."""
    try:
        hook = soak_hook(conn_id)
        item.task_id = (await asyncio.to_thread(hook.import_asset, item.url, item.name)).task.id
        deferred = LivepeerTaskTrigger(
            item.task_id,
            conn_id,
            poll_interval=TRIGGER_POLL,
            end_time=time.time() + TRIGGER_LIMIT,
            shared_polling=item.style == "trigger-shared",
        )
        _, kwargs = deferred.serialize()
        events = await trigger_events(
            LivepeerTaskTrigger(**json.loads(json.dumps(kwargs))), TRIGGER_LIMIT + 5
        )
        item.views["events"] = events
        if len(events) != 1:
            raise AssertionError(f"the trigger fired {len(events)} events")
        item.views["result"] = events[0].get("result")
        sensor = LivepeerTaskSensor(
            task_id=f"wait_{item.index}", livepeer_task_id=item.task_id, livepeer_conn_id=conn_id
        )
        ti = RecordingTI(task_id=sensor.task_id)
        item.views["return_value"] = sensor.execute_complete(context(ti), events[0])
        item.views["xcoms"] = ti.xcoms
        item.status = "completed"
    except LivepeerTaskFailedError as err:
        record_failure(item, err)
    except Exception as err:
        item.status, item.error = "error", f"{type(err).__name__}: {err}"


def check(item: Planned, emulator: Any, sample: bytes) -> list[str]:
    """What is wrong with how one import ended (nothing, when it ended as planned)."""
    where = f"#{item.index} ({item.style}, task {item.task_id})"
    if item.status == "error":
        return [f"{where}: unexpected error {item.error}"]
    if item.status == "lost":
        return [f"{where}: lost, it never ended"]
    if item.task_id is None:
        return [f"{where}: lost, no Livepeer task id"]
    task = emulator.task(item.task_id)
    if task["params"]["upload"]["url"] != item.url:
        return [f"{where}: the task imports {task['params']['upload']['url']}, not {item.url}"]
    if item.fail_message is not None:
        if item.status != "failed" or item.failure is None:
            return [f"{where}: expected to fail with {item.fail_message!r}, ended {item.status}"]
        problems = []
        if item.failure.error_message != item.fail_message or item.fail_message not in str(item.failure):
            problems.append(f"{where}: failed with {item.failure!s}, not {item.fail_message!r}")
        if item.failure.livepeer_task_id != item.task_id or item.failure.phase != "failed":
            problems.append(f"{where}: failure names {item.failure.livepeer_task_id} {item.failure.phase}")
        if task["status"]["phase"] != "failed":
            problems.append(f"{where}: the emulator's task is {task['status']['phase']}")
        if item.style.startswith("trigger") and item.views["events"][0]["status"] != "failed":
            problems.append(f"{where}: trigger event {item.views['events'][0]['status']}, not failed")
        return problems
    if item.status != "completed":
        return [f"{where}: failed falsely: {item.failure}"]
    if task["status"]["phase"] != "completed":
        return [f"{where}: reported completed but the emulator's task is {task['status']['phase']}"]
    spec = task["output"]["upload"]["assetSpec"]
    asset = emulator.asset(task["outputAssetId"])
    expected = {
        "livepeer_task_id": item.task_id,
        "type": "upload",
        "phase": "completed",
        "output_asset_id": asset["id"],
    }
    problems = []
    sha256 = hashlib.sha256(sample).hexdigest()
    if asset["status"]["phase"] != "ready" or asset["name"] != item.name:
        problems.append(f"{where}: asset {asset['id']} is {asset['status']['phase']} named {asset['name']}")
    if not (spec["size"] == asset["size"] == len(sample)) or spec["hash"] != asset["hash"]:
        problems.append(f"{where}: size/hash of the spec {spec['size']} and asset {asset['size']} differ")
    if {"algorithm": "sha256", "hash": sha256} not in asset["hash"]:
        problems.append(f"{where}: the asset's sha256 is not the sample's")
    if "result" in item.views:
        result = item.views["result"]
        if (result["output_asset_id"], result["asset_spec"]) != (asset["id"], spec):
            problems.append(f"{where}: result {result['output_asset_id']} differs from the emulator's asset")
        if result["phase"] != "completed" or result["error_message"] is not None:
            problems.append(f"{where}: result phase {result['phase']}: {result['error_message']}")
    if "return_value" in item.views and item.views["return_value"] != expected:
        problems.append(f"{where}: summary {item.views['return_value']} != {expected}")
    if "xcoms" in item.views:
        xcoms = item.views["xcoms"]
        if (xcoms.get("output_asset_id"), xcoms.get("asset_spec")) != (asset["id"], spec):
            problems.append(f"{where}: XComs {xcoms.get('output_asset_id')} differ from the emulator's asset")
        if item.style == "operator" and xcoms["playback_id"] != asset["playbackId"]:
            problems.append(f"{where}: operator pushed playback id {xcoms['playback_id']}")
    return problems


@dataclass
class SoakStats:
    tasks: int = 0
    completed: int = 0
    failed_as_scripted: int = 0
    requests: int = 0
    faulted: Counter[str] = field(default_factory=Counter)
    faulted_creates: int = 0
    styles: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    seconds: Counter[str] = field(default_factory=Counter)

    def line(self, elapsed: float) -> str:
        faults = ",".join(f"{kind}:{n}" for kind, n in sorted(self.faulted.items()))
        return (
            f"SOAK tasks={self.tasks} completed={self.completed} "
            f"failed_as_scripted={self.failed_as_scripted} lost_or_wrong={len(self.problems)} "
            f"requests={self.requests} "
            f"retries(faulted requests)={sum(self.faulted.values())} [{faults}] "
            f"faulted_creates={self.faulted_creates} styles={dict(sorted(self.styles.items()))} "
            f"sync={self.seconds['sync']:.1f}s triggers={self.seconds['triggers']:.1f}s "
            f"elapsed={elapsed:.1f}s"
        )


def soak_round(
    emulator: Any, conn_id: str, source_url: str, sample: bytes, count: int, round_no: int
) -> SoakStats:
    """Run ``count`` imports (sync styles in threads, then the triggers in one event loop) and check them."""
    emulator.reset_requests()
    tasks_before = emulator.state.health()["tasks"]
    planned = plan(count, source_url, round_no)
    for item in planned:
        if item.fail_message is not None:
            emulator.script_outcome(item.url, "fail", error_message=item.fail_message)

    stats = SoakStats(tasks=count)
    started = time.monotonic()
    emulator.set_faults(**SYNC_FAULTS, seed=round_no)
    sync = [item for item in planned if item.style in SYNC_STYLES]
    with ThreadPoolExecutor(SYNC_WORKERS, initializer=prepare_thread) as pool:
        list(pool.map(lambda item: run_sync(item, conn_id), sync))
    stats.seconds["sync"] = time.monotonic() - started

    emulator.set_faults(**TRIGGER_FAULTS, seed=round_no)
    deferred = [item for item in planned if item.style not in SYNC_STYLES]

    async def run_triggers() -> None:
        await asyncio.gather(*(run_trigger(item, conn_id) for item in deferred))

    started = time.monotonic()
    asyncio.run(run_triggers())
    stats.seconds["triggers"] = time.monotonic() - started
    emulator.clear_faults()

    records = emulator.requests
    stats.requests = len(records)
    stats.faulted = Counter(record.fault for record in records if record.fault is not None)
    stats.faulted_creates = sum(
        1 for record in records if record.fault is not None and record.method == "POST"
    )
    stats.styles = Counter(item.style for item in planned)
    for item in planned:
        stats.problems += check(item, emulator, sample)
    ok = [item for item in planned if not check(item, emulator, sample)]
    stats.completed = sum(1 for item in ok if item.fail_message is None)
    stats.failed_as_scripted = sum(1 for item in ok if item.fail_message is not None)
    created = emulator.state.health()["tasks"] - tasks_before
    ids = {item.task_id for item in planned}
    if created != count or len(ids) != count:
        stats.problems.append(
            f"{created} Livepeer tasks created and {len(ids)} distinct ids for {count} imports"
        )
    return stats


def run_soak(
    emulator: Any, conn_id: str, media_dir: Path, source_url: str, rounds: int, count: int
) -> tuple[SoakStats, str]:
    sample = (media_dir / "sample.mp4").read_bytes()
    started = time.monotonic()
    total = SoakStats()
    for round_no in range(rounds):
        stats = soak_round(emulator, conn_id, source_url, sample, count, round_no)
        total.tasks += stats.tasks
        total.completed += stats.completed
        total.failed_as_scripted += stats.failed_as_scripted
        total.requests += stats.requests
        total.faulted += stats.faulted
        total.faulted_creates += stats.faulted_creates
        total.seconds += stats.seconds
        total.styles += stats.styles
        total.problems += stats.problems
        # The emulator keeps the last 10 000 requests: a round must stay under that to be counted whole.
        assert stats.requests < 10_000
    return total, total.line(time.monotonic() - started)


def assert_soak(total: SoakStats, line: str, count: int) -> None:
    scripted = sum(1 for i in range(count) if i % 10 == (i // 10) % 10) * (total.tasks // count)
    assert total.problems == [], "\n".join(total.problems[:20])
    assert total.failed_as_scripted == scripted
    assert total.completed == total.tasks - scripted
    assert f"lost_or_wrong=0 requests={total.requests} " in line
    # The faults really happened, of every kind.
    assert set(total.faulted) == set(SYNC_FAULTS["rates"]), total.faulted
    assert sum(total.faulted.values()) >= total.tasks // 4
    # Imports are safe to resend, so creates that met a fault were retried (and created nothing twice).
    assert total.faulted_creates >= total.tasks // 10
    assert total.requests <= REQUESTS_PER_IMPORT * total.tasks, line


@pytest.mark.timeout(120)
@pytest.mark.livepeer_emulator(speed=100)
def test_soak_200_imports_under_faults(
    livepeer_emulator: Any, emulator_conn: str, media_dir: Path, sample_video_url: str
) -> None:
    total, line = run_soak(livepeer_emulator, emulator_conn, media_dir, sample_video_url, rounds=1, count=200)
    print(line)
    assert_soak(total, line, 200)


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.livepeer_emulator(speed=100)
def test_soak_long(
    livepeer_emulator: Any, emulator_conn: str, media_dir: Path, sample_video_url: str
) -> None:
    total, line = run_soak(livepeer_emulator, emulator_conn, media_dir, sample_video_url, rounds=5, count=200)
    print(line)
    assert_soak(total, line, 200)
