"""The main job: import a real video through a real Airflow DAG run, and print what Livepeer made of it.

``python3 dev.py demo`` runs ``example_livepeer_import_pipeline`` (import → sensor → check → export)
with ``airflow dags test`` in a throwaway Airflow home. With no ``LIVEPEER_API_KEY`` it needs no account
and no network: it starts the local Livepeer Studio emulator on 127.0.0.1, makes a two-second H.264
MP4 and serves it on 127.0.0.1 for the import. With ``LIVEPEER_API_KEY`` set it uses Livepeer Studio
itself (``LIVEPEER_API_HOST`` to change the host) and imports ``LIVEPEER_DEMO_SOURCE_URL`` (default: the
example DAG's public sample video). Everything it starts is stopped on the way out, failures included.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
DAG_ID = "example_livepeer_import_pipeline"
AIRFLOW = Path(sys.executable).with_name("airflow")


def main() -> int:
    """Run the pipeline once and print its summary; the exit code says whether it succeeded."""
    api_key = os.environ.get("LIVEPEER_API_KEY", "").strip()
    with contextlib.ExitStack() as stack:
        home = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="livepeer-demo-airflow-")))
        env = {
            **os.environ,
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "example_dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        }
        step("Migrating a throwaway Airflow metadata database")
        airflow(["db", "migrate"], env)
        conf: dict[str, Any] = {}
        if api_key:
            host = os.environ.get("LIVEPEER_API_HOST", "https://livepeer.studio")
            connection = {"conn_type": "livepeer", "host": host, "password": api_key}
            if source := os.environ.get("LIVEPEER_DEMO_SOURCE_URL"):
                conf["source_url"] = source
            emulator = None
            step(f"Using Livepeer Studio at {host}")
        else:
            from livepeer_studio_emulator import run_emulator

            emulator = stack.enter_context(run_emulator("demo-key", speed=4))
            connection = json.loads(emulator.airflow_conn_json())
            media_url = stack.enter_context(serve_sample_video())
            conf["source_url"] = media_url
            env["LIVEPEER_EXAMPLE_POLL_INTERVAL"] = "0.5"
            step(f"Started the Livepeer emulator at {emulator.url}; serving a sample video at {media_url}")
        env["AIRFLOW_CONN_LIVEPEER_DEFAULT"] = json.dumps(connection)
        os.environ["AIRFLOW_CONN_LIVEPEER_DEFAULT"] = env["AIRFLOW_CONN_LIVEPEER_DEFAULT"]

        step(f"airflow dags test {DAG_ID}")
        started = time.time()
        result = subprocess.run(
            [str(AIRFLOW), "dags", "test", DAG_ID, "--conf", json.dumps(conf)],
            env=env,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        (home / "dags-test.log").write_text(result.stdout + result.stderr)
        return summarize(result, started, emulator, home)
    return 1  # pragma: no cover - the with block always returns


def summarize(result: subprocess.CompletedProcess[str], started: float, emulator: Any, home: Path) -> int:
    """Print the import's task, asset and phase timeline; 0 if the DAG run and the import succeeded."""
    from airflow_provider_livepeer.hooks.livepeer import LivepeerHook

    hook = LivepeerHook()
    since: list[dict[str, Any]] = [
        {"id": "createdAt", "value": {"gte": int(started * 1000) - 5000}},
        {"id": "type", "value": "upload"},
    ]
    tasks = list(hook.list_tasks(limit=10, filters=since, max_items=1))
    run_ok = result.returncode == 0 and "state=success" in (result.stdout + result.stderr).replace(" ", "")
    if not tasks:
        print(f"\nNo import was started. Last lines of `airflow dags test`:\n{tail(result)}", file=sys.stderr)
        return 1
    task = tasks[0]
    print("\n=== Livepeer import ===")
    print(f"Airflow DAG run   {DAG_ID}: {'success' if run_ok else 'FAILED'}")
    print(f"Livepeer task     {task.id} ({task.type}): {task.phase}")
    if task.output_asset_id:
        asset = hook.get_asset(task.output_asset_id)
        spec = task.asset_spec or {}
        video = spec.get("videoSpec") or {}
        tracks = ", ".join(
            f"{t.get('type')} {t.get('codec')}"
            + (f" {t.get('width')}x{t.get('height')}" if t.get("width") else "")
            for t in video.get("tracks", [])
        )
        print(f"Asset             {asset.id} ({asset.phase}), playback id {asset.playback_id}")
        print(f"Size              {asset.size} bytes")
        for entry in asset.hash or []:
            print(f"{entry.get('algorithm', '?'):<18}{entry.get('hash')}")
        print(f"Duration          {video.get('duration')} s ({video.get('format')}; {tracks})")
    print("Phase timeline")
    recorded = [(task.created_at or 0.0, "created"), (task.updated_at or 0.0, task.phase)]
    for when, phase in timeline(task.id, emulator) or recorded:
        stamp = datetime.fromtimestamp(when / 1000, tz=UTC).strftime("%H:%M:%S.%f")[:-3]
        print(f"  {stamp}  {phase}")
    if not run_ok or task.phase != "completed":
        print(
            f"\nThe pipeline did not succeed. Last lines of `airflow dags test`:\n{tail(result)}",
            file=sys.stderr,
        )
        return 1
    return 0


def timeline(livepeer_task_id: str, emulator: Any) -> list[tuple[float, str]]:
    """The emulator's record of when the task changed phase (Livepeer Studio does not keep one)."""
    if emulator is None:
        return []
    import httpx

    debug = httpx.get(f"{emulator.url}/_emulator/tasks/{livepeer_task_id}", timeout=10).json()
    steps: list[tuple[float, str]] = []
    previous = None
    for snapshot in debug["timeline"]:
        if snapshot["updatedAt"] > debug["now"]:
            break
        if snapshot["phase"] != previous:  # progress steps within a phase are left out
            steps.append((snapshot["updatedAt"], snapshot["phase"]))
            previous = snapshot["phase"]
    return steps


@contextlib.contextmanager
def serve_sample_video() -> Iterator[str]:
    """Make a two-second MP4 and serve it on 127.0.0.1 until the block ends; yields its URL."""
    from livepeer_studio_emulator.samples import make_sample_video

    with tempfile.TemporaryDirectory(prefix="livepeer-demo-media-") as folder:
        make_sample_video(Path(folder) / "sample.mp4", seconds=2.0, width=320, height=240)

        class Quiet(http.server.SimpleHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=folder))
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}/sample.mp4"
        finally:
            server.shutdown()
            thread.join(5)


def airflow(args: list[str], env: dict[str, str]) -> None:
    """Run an ``airflow`` command quietly; show its output only if it fails."""
    result = subprocess.run([str(AIRFLOW), *args], env=env, capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        print(tail(result), file=sys.stderr)
        raise SystemExit(result.returncode)


def tail(result: subprocess.CompletedProcess[str], lines: int = 40) -> str:
    """The last lines a command printed."""
    return "\n".join((result.stdout + result.stderr).splitlines()[-lines:])


def step(message: str) -> None:
    """Say what the demo is doing."""
    print(f"--> {message}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
