"""The shared watcher moved to ``triggers.shared_watcher``; ``triggers.watcher`` still hands it out."""

from __future__ import annotations

import importlib

import pytest

from airflow_provider_livepeer.triggers import shared_watcher


@pytest.mark.parametrize("name", ["SharedTaskWatcher", "shared_watcher"])
def test_the_shared_watcher_imports_from_its_old_module_with_a_warning(name: str) -> None:
    old = importlib.import_module("airflow_provider_livepeer.triggers.watcher")
    moved_to = rf"triggers\.watcher\.{name} moved to .*shared_watcher\.{name}"
    with pytest.warns(DeprecationWarning, match=moved_to):
        moved = getattr(old, name)
    assert moved is getattr(shared_watcher, name)


def test_an_unknown_name_of_the_old_module_is_still_an_attribute_error() -> None:
    old = importlib.import_module("airflow_provider_livepeer.triggers.watcher")
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        old.nothing_here  # noqa: B018
