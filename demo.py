"""The main job: list the tasks of the Livepeer Studio account whose API key is in ``LIVEPEER_API_KEY``.

Run it with ``python3 dev.py demo``. ``LIVEPEER_API_HOST`` points it at another host (for example a
local emulator on ``http://127.0.0.1:3000``).
"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime, timezone


def main() -> int:
    """List the account's newest tasks through :class:`LivepeerHook`."""
    api_key = os.environ.get("LIVEPEER_API_KEY", "").strip()
    if not api_key:
        print(
            "LIVEPEER_API_KEY is not set: the demo lists your Livepeer Studio tasks with that key.\n"
            "Create a key in Livepeer Studio (Developers > API keys), then run:\n"
            "    LIVEPEER_API_KEY=... python3 dev.py demo",
            file=sys.stderr,
        )
        return 2
    host = os.environ.get("LIVEPEER_API_HOST", "https://livepeer.studio")
    os.environ["AIRFLOW_CONN_LIVEPEER_DEFAULT"] = json.dumps(
        {"conn_type": "livepeer", "host": host, "password": api_key}
    )
    from airflow_provider_livepeer.hooks.livepeer import LivepeerHook

    hook = LivepeerHook()
    count = 0
    for task in hook.list_tasks(limit=20, max_items=20):
        created = datetime.fromtimestamp((task.created_at or 0) / 1000, tz=timezone.utc)
        progress = f"{task.progress:.0%}" if task.progress is not None else "-"
        print(f"{created:%Y-%m-%d %H:%M} {task.id}  {task.type or '?':<15} {task.phase:<10} {progress:>5}")
        count += 1
    print(f"{count} task(s) shown from {host}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
