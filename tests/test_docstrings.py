"""The examples in the package's docstrings run, as the README's do (see ``tests/_doc_blocks.py``).

Examples are ``.. code-block:: python`` or ``.. code-block:: bash`` blocks, marked like the README's
(``.. doc-test: skip: REASON`` just before the directive) when they cannot run here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import airflow_provider_livepeer
from tests.support.doc_blocks import Block, docstring_blocks, run_block

# The package as imported: the source tree, or the installed wheel when the tests run against one.
BLOCKS, UNRUN = docstring_blocks(Path(airflow_provider_livepeer.__file__).parent)
RUN = [block for block in BLOCKS if block.runner]


@pytest.mark.parametrize("block", RUN, ids=[block.test_id for block in RUN])
def test_docstring_example(block: Block, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    run_block(block, BLOCKS, tmp_path, request)


def test_every_docstring_example_is_a_block_that_runs() -> None:
    assert not UNRUN, "examples no test would run:\n" + "\n".join(UNRUN)
    assert RUN, "the docstrings' examples were not found"
