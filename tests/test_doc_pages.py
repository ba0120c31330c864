"""The pages of ``docs/`` as executable documentation: the code blocks written on a page run as the
README's do (see ``tests/test_readme.py`` and ``tests/support/doc_blocks.py``).

A how-to page's examples are included from the example DAGs, whose tests run them; the blocks written on
the pages themselves (the hook's calls, the connection's forms, the testing page's DAG and its test, the
emulator's command, ...) run here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.doc_blocks import Block, block_with, markdown_blocks, mutated_document, run_block
from tests.support.project import PROJECT_ROOT

DOCS = PROJECT_ROOT / "docs"
PAGES = sorted(page for page in DOCS.rglob("*.md") if "_build" not in page.relative_to(DOCS).parts)
BLOCKS = {page: markdown_blocks(page) for page in PAGES}
RUN = [block for blocks in BLOCKS.values() for block in blocks if block.runner]


@pytest.mark.parametrize("block", RUN, ids=[block.test_id for block in RUN])
def test_page_block(block: Block, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    run_block(block, BLOCKS[block.source], tmp_path, request)


def test_every_block_names_its_language() -> None:
    unnamed = [block.test_id for blocks in BLOCKS.values() for block in blocks if not block.language]
    assert not unnamed, "say what each block is (```python, ```bash, ```text): " + ", ".join(unnamed)


def test_the_pages_have_examples_of_each_kind() -> None:
    kinds = {(block.runner, block.marker[0] if block.marker else None) for block in RUN}
    assert {("python", None), ("bash", None), ("python", "file"), ("bash", "server")} <= kinds


# -- the runner catches a broken example ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("page", "old", "new", "message"),
    [
        ("connection.md", "emulator-key@127.0.0.1:3000", "emulator-key@127.0.0.1:3001", "disagree"),
        ("testing.md", "--api-key my-key --speed 10", "--api-key my-key --sped 10", "exited"),
    ],
    ids=["connection", "server"],
)
def test_a_broken_example_fails(
    tmp_path: Path, request: pytest.FixtureRequest, page: str, old: str, new: str, message: str
) -> None:
    blocks = mutated_document(DOCS / page, tmp_path, old, new)
    with pytest.raises(AssertionError, match=message):
        run_block(block_with(blocks, new), blocks, tmp_path, request)
