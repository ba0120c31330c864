"""The ``livepeer-emulator`` command: serve the emulator until interrupted (Ctrl-C or SIGTERM).

.. doc-test: server: 3000 3001
.. code-block:: bash

    livepeer-emulator --port 3000 --api-key demo-key --speed 10 --state-file demo-state.json
    livepeer-emulator --port 3001 --fault 503=0.1 --fault drop=0.02 --seed 7

``--port 0`` serves on a free port, printed in the log. With no ``--api-key``, the keys come from
``LIVEPEER_EMULATOR_API_KEY`` (comma-separated) or default to ``emulator-key``. The admin endpoints
(``/_emulator/...``) have no authentication: keep ``--host`` on a loopback address.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence

from livepeer_studio_emulator.accounts import mask_key
from livepeer_studio_emulator.faults import FAULT_KINDS, FaultConfig
from livepeer_studio_emulator.media import (
    DEFAULT_FETCH_TIMEOUT,
    DEFAULT_MAX_SOURCE_BYTES,
    is_loopback_host,
)

log = logging.getLogger("livepeer_emulator")
# --fault-rate spreads its probability over these.
_SPREAD_FAULTS = ("500", "502", "503", "429")


def build_parser() -> argparse.ArgumentParser:
    """The command's argument parser."""
    parser = argparse.ArgumentParser(
        prog="livepeer-emulator",
        description="Serve a local Livepeer Studio API emulator (for tests and demos).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=3000, help="port; 0 picks a free one (default 3000)")
    parser.add_argument(
        "--api-key",
        action="append",
        dest="api_keys",
        metavar="KEY",
        help="accepted API key, one account each; repeat for more (default: $LIVEPEER_EMULATOR_API_KEY "
        "or 'emulator-key')",
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="time factor for task phases; 1000 makes seconds ms (default 1)",
    )
    parser.add_argument("--state-file", metavar="PATH", help="JSON file to resume from and save to")
    parser.add_argument("--seed", type=int, help="seed of the fault injection's random draws")
    parser.add_argument(
        "--fault-rate",
        type=float,
        default=0.0,
        metavar="P",
        help=f"probability of a fault, spread evenly over {', '.join(_SPREAD_FAULTS)}",
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="KIND=P",
        help=f"probability of one fault kind ({', '.join(FAULT_KINDS)}); repeatable",
    )
    parser.add_argument("--retry-after", type=int, default=1, metavar="S", help="Retry-After of a 429 fault")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay added to every API request")
    parser.add_argument("--spike-rate", type=float, default=0.0, help="probability of a latency spike")
    parser.add_argument("--spike-ms", type=float, default=0.0, help="length of a latency spike")
    parser.add_argument(
        "--fault-timing",
        choices=("before", "after"),
        default="before",
        help="'after': the request is processed, then its answer is replaced by the fault",
    )
    parser.add_argument(
        "--allow-remote-sources",
        action="store_true",
        help="also fetch import sources that are not on loopback",
    )
    parser.add_argument(
        "--max-source-mib",
        type=float,
        default=DEFAULT_MAX_SOURCE_BYTES / (1024 * 1024),
        help="largest import source, in MiB (default 512)",
    )
    parser.add_argument(
        "--fetch-timeout",
        type=float,
        default=DEFAULT_FETCH_TIMEOUT,
        help="seconds per source fetch (default 60)",
    )
    parser.add_argument(
        "--max-queued-tasks", type=int, default=100, help="queued tasks per account before 429"
    )
    parser.add_argument(
        "--list-lag",
        type=float,
        default=0.0,
        metavar="S",
        help="seconds the task list lags behind single-task reads, as from a read replica (default 0)",
    )
    parser.add_argument(
        "--read-lag",
        type=float,
        default=0.0,
        metavar="S",
        help="seconds a new task or asset answers 404 to single reads, as from a read replica (default 0)",
    )
    parser.add_argument(
        "--clock-offset",
        type=float,
        default=0.0,
        metavar="S",
        help="seconds added to the tasks' time stamps, as from an API process whose clock is off (default 0)",
    )
    parser.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    return parser


def fault_config(args: argparse.Namespace) -> FaultConfig:
    """The fault config the options describe.

    :raises ValueError: a malformed ``--fault`` or impossible rates.
    """
    rates: dict[str, float] = {}
    if args.fault_rate:
        for kind in _SPREAD_FAULTS:
            rates[kind] = args.fault_rate / len(_SPREAD_FAULTS)
    for item in args.fault:
        kind, sep, rate = item.partition("=")
        if not sep or kind not in FAULT_KINDS:
            raise ValueError(
                f"--fault expects KIND=P with KIND one of {', '.join(FAULT_KINDS)}, not {item!r}"
            )
        rates[kind] = float(rate)
    return FaultConfig.model_validate(
        {
            "rates": rates,
            "retry_after": args.retry_after,
            "latency_ms": args.latency_ms,
            "spike_rate": args.spike_rate,
            "spike_ms": args.spike_ms,
            "timing": args.fault_timing,
            "seed": args.seed,
        }
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the emulator until interrupted; returns the exit status (2 for bad options)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Imported here so `--help` and bad options answer fast.
    from livepeer_studio_emulator.server import bind_socket, make_server, url_for
    from livepeer_studio_emulator.state import EmulatorState

    try:
        faults = fault_config(args)
        state = EmulatorState(
            args.api_keys,
            speed=args.speed,
            state_file=args.state_file,
            faults=faults,
            max_source_bytes=int(args.max_source_mib * 1024 * 1024),
            fetch_timeout=args.fetch_timeout,
            allow_remote_sources=args.allow_remote_sources,
            max_queued_tasks=args.max_queued_tasks,
            list_lag=args.list_lag,
            read_lag=args.read_lag,
            clock_offset=args.clock_offset,
        )
    except ValueError as err:
        parser.error(str(err))
    try:
        sock = bind_socket(args.host, args.port)
    except OSError as err:
        log.error("Cannot listen on %s:%s: %s", args.host, args.port, err)
        state.close()
        return 1
    if not is_loopback_host(args.host):
        log.warning("Listening on %s: the /_emulator admin endpoints have no authentication.", args.host)
    url = url_for(args.host, sock.getsockname()[1])
    keys = ", ".join(mask_key(key) for key in state.api_keys)

    def announce() -> None:
        log.info("Livepeer emulator listening on %s (API base %s/api, admin %s/_emulator)", url, url, url)
        log.info("Accounts (API keys, masked): %s; speed x%g", keys, args.speed)

    server = make_server(state, "warning" if args.log_level == "info" else args.log_level, announce)
    try:
        server.run(sockets=[sock])
    finally:
        state.close()
        sock.close()
    log.info("Livepeer emulator stopped")
    return 0
