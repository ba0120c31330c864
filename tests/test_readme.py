"""README.md as executable documentation: every Python and shell block runs as its reader would run it.

Python blocks run against the emulator, with ``livepeer_default`` pointed there; shell blocks in a
throwaway ``AIRFLOW_HOME``; the testing example is saved as the files it says and run with pytest. A
block that cannot run here says why in a ``<!-- doc-test: ... -->`` marker (see ``tests/_doc_blocks.py``).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.support.doc_blocks import Block, markdown_blocks, run_block
from tests.support.project import PROJECT_ROOT

README = PROJECT_ROOT / "README.md"
BLOCKS = markdown_blocks(README)
RUN = [block for block in BLOCKS if block.runner]


@pytest.mark.parametrize("block", RUN, ids=[block.test_id for block in RUN])
def test_readme_block(block: Block, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    run_block(block, BLOCKS, tmp_path, request)


def test_every_block_names_its_language() -> None:
    unnamed = [block.test_id for block in BLOCKS if not block.language]
    assert not unnamed, "say what each block is (```python, ```bash, ```text): " + ", ".join(unnamed)


def test_the_readme_has_examples_of_each_kind() -> None:
    kinds = {(block.runner, block.marker[0] if block.marker else None) for block in RUN}
    assert {("python", None), ("bash", None), ("python", "file"), ("bash", "server")} <= kinds


# -- the runner catches a broken example ---------------------------------------------------------------


def mutated_readme(tmp_path: Path, old: str, new: str) -> list[Block]:
    copy = tmp_path / "README.md"
    shutil.copy(README, copy)
    text = copy.read_text()
    assert text.count(old) == 1, old
    copy.write_text(text.replace(old, new))
    return markdown_blocks(copy)


def block_with(blocks: list[Block], text: str) -> Block:
    [block] = [block for block in blocks if text in block.code]
    return block


@pytest.mark.parametrize(
    ("old", "new", "error", "message"),
    [
        ("    poke_interval=30,\n", "    poke_intervall=30,\n", Exception, "poke_intervall"),  # a typo
        ("emulator-key@127.0.0.1:3000", "emulator-key@127.0.0.1:3001", AssertionError, "disagree"),
        ("--api-key my-key --speed 10", "--api-key my-key --sped 10", AssertionError, "exited"),
    ],
    ids=["python", "connection", "server"],
)
def test_a_broken_example_fails(
    tmp_path: Path,
    request: pytest.FixtureRequest,
    old: str,
    new: str,
    error: type[BaseException],
    message: str,
) -> None:
    blocks = mutated_readme(tmp_path, old, new)
    with pytest.raises(error, match=message):
        run_block(block_with(blocks, new.strip()), blocks, tmp_path, request)


def test_a_new_block_runs_by_default(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    blocks = mutated_readme(tmp_path, "## Benchmarks\n", "## Benchmarks\n\n```bash\nfalse\n```\n")
    new = block_with(blocks, "false\n")
    assert new.runner == "bash" and new.marker is None
    with pytest.raises(AssertionError, match=re.escape(f"{new.test_id} exited 1")):
        run_block(new, blocks, tmp_path, request)
