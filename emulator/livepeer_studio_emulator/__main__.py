"""The ``livepeer-emulator`` command (also ``python -m livepeer_studio_emulator``).

It checks what the emulator needs before importing any of it, so a missing library is one line naming it
and the install command, with exit status 2, not a traceback.
"""

from __future__ import annotations

import sys

from livepeer_studio_emulator.requirements import MissingRequirement, check_requirements


def main() -> int:
    """Run the command (see :mod:`livepeer_studio_emulator.cli`); 2 when a requirement is missing."""
    try:
        check_requirements()
    except MissingRequirement as missing:
        print(f"livepeer-emulator: {missing}", file=sys.stderr)
        return 2
    from livepeer_studio_emulator.cli import main as run_command

    return run_command()


if __name__ == "__main__":
    sys.exit(main())
