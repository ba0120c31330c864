#!/usr/bin/env python
"""Benchmarks of airflow-provider-livepeer against the HTTP provider, on the local Livepeer emulator.

Run from the project root::

    .venv/bin/python bench/run.py            # full run, about 8-10 minutes; writes bench/results/latest.md
    .venv/bin/python bench/run.py --quick    # smoke check, under a minute; writes bench/results/quick.md

1. Deferred waiting: N tasks completing at random times, all triggers in one asyncio event loop (as in the
   triggerer): API requests per poll interval, direct reads, triggerer CPU per interval, RSS per waiting
   task, detection latency; and a triggerer restart (triggers rebuilt from their kwargs after a downtime).
   ``LivepeerTaskTrigger`` (shared polling, and ``shared_polling=False``) against the HTTP provider's
   triggers (see ``bench/deferred.py`` for how they are made to check the task's phase).
2. Poke mode: CPU and wall time per poke, ``LivepeerTaskSensor.poke`` against ``HttpSensor.poke`` with a
   ``response_check`` (``bench/poke.py``).
3. DAG parsing: importing the provider and building a DAG of 100 sensors, in fresh processes, and that no
   network call happens meanwhile (``bench/parse.py``).
4. The async client: CPU per request of httpx and aiohttp in the trigger path, and of list parsing per
   task (``bench/client.py``).

The emulator runs in a subprocess (``bench/emulator_proc.py``) so that the CPU measured here is the
client's only. Airflow's logs (INFO, formatted as usual) go to ``bench/.work/airflow.log``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))

STAGES = ("deferred", "client", "poke", "parse")


def prepare_environment() -> None:
    """What Airflow reads when first imported: a throwaway home, no example DAGs."""
    os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="livepeer-bench-airflow-home-")
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    finally:
        # The throwaway AIRFLOW_HOME made by prepare_environment().
        home = os.environ.get("AIRFLOW_HOME", "")
        if Path(home).name.startswith("livepeer-bench-airflow-home-"):
            shutil.rmtree(home, ignore_errors=True)


def _main(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a smaller, shorter run for smoke checks")
    parser.add_argument(
        "--only", choices=STAGES, action="append", help="run only this benchmark (repeatable)"
    )
    parser.add_argument("--output", type=Path, help="the Markdown results file (default: bench/results/)")
    parser.add_argument(
        "--render",
        type=Path,
        metavar="JSON",
        help="only write the Markdown again from a run's raw numbers (e.g. bench/results/latest.json)",
    )
    args = parser.parse_args(argv)
    stages = tuple(args.only or STAGES)

    prepare_environment()
    # Imported only now: they import Airflow, which reads the environment above.
    import common
    import report

    if args.render:
        saved = json.loads(args.render.read_text(encoding="utf-8"))
        known = {field.name for field in dataclasses.fields(common.Settings)}
        settings = common.Settings(**{k: v for k, v in saved["meta"]["settings"].items() if k in known})
        meta = {**saved["meta"], "settings": settings}
        markdown, summary = report.render(meta, saved["results"])
        output = args.output or args.render.with_suffix(".md")
        output.write_text(markdown, encoding="utf-8")
        print(summary)
        print(f"\nRewritten: {output}")
        return 0

    settings = common.Settings.quick() if args.quick else common.Settings.full()
    output = args.output or common.RESULTS_DIR / ("quick.md" if args.quick else "latest.md")
    common.WORK_DIR.mkdir(exist_ok=True)
    common.RESULTS_DIR.mkdir(exist_ok=True)
    airflow_log = common.WORK_DIR / "airflow.log"
    airflow_log.write_text("")
    began, wall_started = datetime.now(UTC), time.monotonic()
    common.progress(f"{settings.mode} run: {', '.join(stages)}; Airflow logs in {airflow_log}")

    source = common.source_state()  # before the run: the package may change while it runs
    load = common.BackgroundLoad()
    results: dict[str, object] = {}
    with open(common.WORK_DIR / "emulator.log", "w", encoding="utf-8") as emulator_log:
        emulator = common.EmulatorProcess(emulator_log)
        try:
            os.environ.update(emulator.connection_env())
            import client
            import deferred
            import parse
            import poke

            with common.stdout_to(airflow_log):
                if "deferred" in stages:
                    deferred.warm_up(emulator, settings)
                    results["deferred"] = deferred.run(emulator, settings)
                if "client" in stages:
                    results["client"] = client.run(emulator, settings)
                if "poke" in stages:
                    results["poke"] = poke.run(emulator, settings)
                if "parse" in stages:
                    results["parse"] = parse.run(emulator, settings)
        finally:
            emulator.close()

    duration = time.monotonic() - wall_started
    background = load.others()
    source_after = common.source_state()
    meta = {
        "began": began.strftime("%Y-%m-%d %H:%M UTC"),
        "duration_s": duration,
        "command": " ".join(
            [".venv/bin/python bench/run.py", *(["--quick"] if args.quick else [])]
            + [f"--only {stage}" for stage in args.only or ()]
        ),
        "settings": settings,
        "background": background,
        "source": source if source_after == source else f"{source}; during the run it became {source_after}",
        "machine": common.machine(),
        "versions": common.versions(),
    }
    markdown, summary = report.render(meta, results)
    output.write_text(markdown, encoding="utf-8")
    output.with_suffix(".json").write_text(
        json.dumps({"meta": {**meta, "settings": vars(settings)}, "results": results}, indent=1, default=str),
        encoding="utf-8",
    )
    print(summary)
    print(f"\nFull results: {output} (raw numbers: {output.with_suffix('.json')}); took {duration:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
