"""README.md as executable documentation: every Python and shell block runs as its reader would run it.

Python blocks run against the emulator, with ``livepeer_default`` pointed there; shell blocks in a
throwaway ``AIRFLOW_HOME``. A block that cannot run here says why in a ``<!-- doc-test: ... -->`` marker
(see ``tests/support/doc_blocks.py``). The pages of ``docs/`` are run the same way (``test_doc_pages.py``);
the README stays a few screens, and its links lead somewhere.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.doc_blocks import Block, block_with, markdown_blocks, mutated_document, run_block
from tests.support.project import PROJECT_ROOT

README = PROJECT_ROOT / "README.md"
BLOCKS = markdown_blocks(README)
RUN = [block for block in BLOCKS if block.runner]
#: A few screens: what the provider is, installing it, an example, the commands, the way into the docs.
MOST_LINES = 200


@pytest.mark.parametrize("block", RUN, ids=[block.test_id for block in RUN])
def test_readme_block(block: Block, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    run_block(block, BLOCKS, tmp_path, request)


def test_every_block_names_its_language() -> None:
    unnamed = [block.test_id for block in BLOCKS if not block.language]
    assert not unnamed, "say what each block is (```python, ```bash, ```text): " + ", ".join(unnamed)


def test_the_readme_fits_on_a_few_screens() -> None:
    lines = len(README.read_text().splitlines())
    assert lines < MOST_LINES, f"README.md has {lines} lines: move what users need into docs/"


def test_every_link_of_the_readme_to_a_file_of_the_repository_leads_to_one() -> None:
    targets = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README.read_text())
    local = [target for target in targets if "://" not in target]
    assert local, "the README links into docs/"
    dead = [target for target in local if not (PROJECT_ROOT / target).is_file()]
    assert not dead, f"links to no file: {dead}"


# -- the runner catches a broken example ---------------------------------------------------------------


def test_a_broken_example_fails(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    blocks = mutated_document(README, tmp_path, "    poke_interval=30,\n", "    poke_intervall=30,\n")
    with pytest.raises(Exception, match="poke_intervall"):
        run_block(block_with(blocks, "poke_intervall=30"), blocks, tmp_path, request)


def test_a_new_block_runs_by_default(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    blocks = mutated_document(
        README, tmp_path, "## Documentation\n", "## Documentation\n\n```bash\nfalse\n```\n"
    )
    new = block_with(blocks, "false\n")
    assert new.runner == "bash" and new.marker is None
    with pytest.raises(AssertionError, match=re.escape(f"{new.test_id} exited 1")):
        run_block(new, blocks, tmp_path, request)
