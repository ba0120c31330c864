"""One DAG parse in a fresh interpreter: ``python bench/parse_child.py livepeer|http COUNT``.

CPU times (process time: the machine may be shared), in this order: importing Airflow's DAG API (the
same for both), warming up Airflow's DAG serialization (not counted), importing the sensor's module,
building a DAG of COUNT sensors, and serializing it as the DAG processor does. Every outgoing TCP/UDP
connection attempt is recorded (``socket.connect``, ``connect_ex``, ``sendto``, ``getaddrinfo``), per phase.
Prints one JSON line.
"""

from __future__ import annotations

import gc
import json
import resource
import socket
import sys
import time
from typing import Any

_phase = "startup"
_network: list[dict[str, str]] = []
#: CPU seconds spent in the garbage collector, per phase (collections run whenever allocations add up, so a
#: phase can pay for garbage an earlier one made).
_gc_seconds: dict[str, float] = {}
_gc_started = [0.0]


def _watch_gc() -> None:
    def callback(event: str, info: dict[str, Any]) -> None:
        if event == "start":
            _gc_started[0] = time.process_time()
        else:
            _gc_seconds[_phase] = _gc_seconds.get(_phase, 0.0) + time.process_time() - _gc_started[0]

    gc.callbacks.append(callback)


def _watch_network() -> None:
    def record(what: str, address: Any) -> None:
        _network.append({"phase": _phase, "call": what, "address": repr(address)})

    original_connect = socket.socket.connect
    original_connect_ex = socket.socket.connect_ex
    original_sendto = socket.socket.sendto
    original_getaddrinfo = socket.getaddrinfo

    def connect(self: socket.socket, address: Any) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            record("connect", address)
        return original_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            record("connect_ex", address)
        return original_connect_ex(self, address)

    def sendto(self: socket.socket, *args: Any) -> int:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            record("sendto", args[-1])
        return original_sendto(self, *args)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        record("getaddrinfo", host)
        return original_getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
    socket.socket.sendto = sendto  # type: ignore[method-assign,assignment]
    socket.getaddrinfo = getaddrinfo


def _peak_rss() -> int:
    """This process's peak RSS in bytes.

    ``VmHWM``, not ``getrusage``'s ``ru_maxrss``: Linux carries ``ru_maxrss`` over ``execve`` from the
    forked parent, so a child of a big process would report the parent's size.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def main() -> int:
    global _phase
    kind, count = sys.argv[1], int(sys.argv[2])
    _watch_network()
    _watch_gc()
    marks: dict[str, float] = {}
    start = time.process_time()

    _phase = "import airflow"
    from datetime import datetime

    from airflow.sdk import DAG

    marks["airflow"] = time.process_time()
    rss_airflow = _peak_rss()

    # The DAG processor has Airflow's serialization code loaded already; load it here too (serializing a
    # DAG of neither kind of sensor), so that *serialize* below is the cost of this DAG, not of imports.
    _phase = "serialization warm-up"
    from airflow.sdk import BaseOperator
    from airflow.serialization.serialized_objects import DagSerialization

    class Noop(BaseOperator):
        def execute(self, context: Any) -> None:
            return None

    with DAG(dag_id="warm_up", schedule=None, start_date=datetime(2026, 1, 1)) as warm_up:
        Noop(task_id="noop")
    DagSerialization.to_dict(warm_up)
    marks["warm_up"] = time.process_time()

    _phase = "import provider"
    provider_started = time.process_time()
    if kind == "livepeer":
        from airflow_provider_livepeer.sensors.livepeer import LivepeerTaskSensor
    else:
        from airflow.providers.http.sensors.http import HttpSensor
    marks["provider"] = time.process_time()

    def response_check(response: Any) -> bool:  # what an HttpSensor DAG file would define
        return bool(response.json()["status"]["phase"] == "completed")

    _phase = "build DAG"
    with DAG(dag_id=f"bench_{kind}", schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
        for number in range(count):
            task_id = f"00000000-0000-4000-8000-{number:012d}"
            if kind == "livepeer":
                LivepeerTaskSensor(
                    task_id=f"wait_{number}",
                    livepeer_task_id=task_id,
                    livepeer_conn_id="livepeer_bench",
                    poke_interval=30,
                    timeout=3600,
                )
            else:
                HttpSensor(
                    task_id=f"wait_{number}",
                    http_conn_id="livepeer_http_bench",
                    endpoint=f"/api/task/{task_id}",
                    response_check=response_check,
                    poke_interval=30,
                    timeout=3600,
                )
    marks["build"] = time.process_time()
    rss_built = _peak_rss()

    _phase = "serialize DAG"
    serialized = DagSerialization.to_dict(dag)
    marks["serialize"] = time.process_time()
    _phase = "done"

    print(
        json.dumps(
            {
                "kind": kind,
                "tasks": len(dag.task_dict),
                "serialized_bytes": len(json.dumps(serialized)),
                "import_airflow_s": marks["airflow"] - start,
                "serialization_warm_up_s": marks["warm_up"] - marks["airflow"],
                "import_provider_s": marks["provider"] - provider_started,
                "build_s": marks["build"] - marks["provider"],
                "serialize_s": marks["serialize"] - marks["build"],
                "cpu_s": time.process_time(),
                "peak_rss_after_airflow_b": rss_airflow,
                "peak_rss_after_build_b": rss_built,
                "peak_rss_b": _peak_rss(),
                "network": _network,
                "gc_s": _gc_seconds,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
