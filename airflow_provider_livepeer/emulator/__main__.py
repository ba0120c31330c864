"""``python -m airflow_provider_livepeer.emulator``: the ``livepeer-emulator`` command."""

from __future__ import annotations

import sys

from airflow_provider_livepeer.emulator.cli import main

if __name__ == "__main__":
    sys.exit(main())
