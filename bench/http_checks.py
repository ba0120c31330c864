"""The HTTP provider's side of the comparison: "is this Livepeer task done?" as response checks.

Kept in a module of its own, this small, because ``HttpEventTrigger`` re-imports (``importlib.reload``) the
module of its ``response_check_path`` on every poll.
"""

from __future__ import annotations

import json
from typing import Any

#: Livepeer's terminal task phases.
TERMINAL_PHASES = ("completed", "failed", "cancelled")


def task_is_terminal(response: Any) -> bool:
    """``HttpSensor(response_check=...)``: the ``requests`` answer of ``GET /api/task/{id}``."""
    return response.json().get("status", {}).get("phase") in TERMINAL_PHASES


async def task_is_terminal_async(response: Any) -> bool:
    """``HttpEventTrigger(response_check_path=...)``: the same check, as the async callable it needs."""
    return json.loads(response.content).get("status", {}).get("phase") in TERMINAL_PHASES
