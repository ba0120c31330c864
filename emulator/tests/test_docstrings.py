"""The examples in the emulator's docstrings run (the command, the pytest fixture, ``run_emulator``)."""

from __future__ import annotations

from pathlib import Path

import livepeer_studio_emulator
import pytest

from tests.support.doc_blocks import Block, docstring_blocks, run_block

BLOCKS, UNRUN = docstring_blocks(Path(livepeer_studio_emulator.__file__).parent)
RUN = [block for block in BLOCKS if block.runner]


@pytest.fixture
def emulator_conn() -> None:
    """What ``run_block`` asks for before a Python example: the provider's tests point an Airflow
    connection at an emulator there; the emulator's examples start their own, so nothing is needed."""


@pytest.mark.parametrize("block", RUN, ids=[block.test_id for block in RUN])
def test_docstring_example(block: Block, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    run_block(block, BLOCKS, tmp_path, request)


def test_every_docstring_example_is_a_block_that_runs() -> None:
    assert not UNRUN, "examples no test would run:\n" + "\n".join(UNRUN)
    assert RUN, "the docstrings' examples were not found"
