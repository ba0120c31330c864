"""Both watchers implement the one watcher interface exactly as it declares ``watch``."""

from __future__ import annotations

import inspect
import typing

import pytest

from airflow_provider_livepeer.triggers.shared_watcher import SharedTaskWatcher
from airflow_provider_livepeer.triggers.watcher import PollingTaskWatcher, TaskWatcher


@pytest.mark.parametrize("watcher", [PollingTaskWatcher, SharedTaskWatcher], ids=lambda cls: cls.__name__)
def test_each_watcher_takes_the_declared_arguments_of_watch(watcher: type) -> None:
    declared, implemented = TaskWatcher.watch, watcher.watch
    assert inspect.signature(implemented) == inspect.signature(declared)
    assert typing.get_type_hints(implemented) == typing.get_type_hints(declared)
