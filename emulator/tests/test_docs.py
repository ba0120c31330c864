"""The emulator's documentation runs: the examples of its README and of its docstrings."""

from __future__ import annotations

from pathlib import Path

import livepeer_studio_emulator
import pytest

from tests.support.doc_blocks import Block, docstring_blocks, markdown_blocks, run_block

README = Path(__file__).parents[1] / "README.md"
README_BLOCKS = markdown_blocks(README)
DOCSTRING_BLOCKS, UNRUN = docstring_blocks(Path(livepeer_studio_emulator.__file__).parent)
RUN = [(block, README_BLOCKS) for block in README_BLOCKS if block.runner]
RUN += [(block, DOCSTRING_BLOCKS) for block in DOCSTRING_BLOCKS if block.runner]


@pytest.fixture
def emulator_conn() -> None:
    """What ``run_block`` asks for before a Python example: the provider's tests point an Airflow
    connection at an emulator there; the emulator's examples start their own, so nothing is needed."""


@pytest.mark.parametrize(("block", "document"), RUN, ids=[block.test_id for block, _ in RUN])
def test_example(block: Block, document: list[Block], tmp_path: Path, request: pytest.FixtureRequest) -> None:
    run_block(block, document, tmp_path, request)


def test_every_example_is_a_block_that_runs() -> None:
    assert not UNRUN, "examples no test would run:\n" + "\n".join(UNRUN)
    assert {"README.md", "cli.py", "pytest_plugin.py", "server.py"} <= {
        Path(block.source).name for block, _ in RUN
    }, [block.test_id for block, _ in RUN]
