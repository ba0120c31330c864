"""Names that moved keep importing from their old module, with a DeprecationWarning naming the new one.

Each row is written out here rather than read from the modules' own lists: a name dropped from a shim
must fail this test.
"""

from __future__ import annotations

import importlib
import warnings

import pytest

from airflow_provider_livepeer import waiting

PACKAGE = "airflow_provider_livepeer"
#: (old module, new module, name)
MOVED = [
    *(
        ("sensors.livepeer", "waiting", name)
        for name in (
            "read_task",
            "raise_for_failure",
            "wait_for_task",
            "trigger_for",
            "result_from_event",
            "publish_result",
            "alias_outlets",
        )
    ),
    ("triggers.watcher", "triggers.shared_watcher", "SharedTaskWatcher"),
    ("triggers.watcher", "triggers.shared_watcher", "shared_watcher"),
    ("api", "validation", "validate_livepeer_id"),
    ("api", "validation", "validate_url"),
    ("emulator.state", "emulator.accounts", "DEFAULT_API_KEY"),
    ("emulator.state", "emulator.accounts", "default_api_keys"),
    ("emulator.state", "emulator.accounts", "mask_key"),
    ("emulator.state", "emulator.request_log", "RequestRecord"),
]


@pytest.mark.parametrize(("old", "new", "name"), MOVED)
def test_a_moved_name_imports_from_its_old_module_with_a_warning(old: str, new: str, name: str) -> None:
    old_module = importlib.import_module(f"{PACKAGE}.{old}")
    moved_to = rf"{PACKAGE}\.{old}\.{name} moved to {PACKAGE}\.{new}\.{name}"
    with pytest.warns(DeprecationWarning, match=moved_to):
        moved = getattr(old_module, name)
    assert moved is getattr(importlib.import_module(f"{PACKAGE}.{new}"), name)


@pytest.mark.parametrize("old", sorted({old for old, _, _ in MOVED}))
def test_an_unknown_name_of_an_old_module_is_still_an_attribute_error(old: str) -> None:
    old_module = importlib.import_module(f"{PACKAGE}.{old}")
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        old_module.nothing_here  # noqa: B018


def test_the_from_import_form_warns_too() -> None:
    with pytest.warns(DeprecationWarning, match=r"emulator\.state\.mask_key moved"):
        from airflow_provider_livepeer.emulator.state import mask_key
    assert mask_key is importlib.import_module(f"{PACKAGE}.emulator.accounts").mask_key


def test_the_xcom_keys_and_the_default_timeout_import_from_the_sensor_module_without_a_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from airflow_provider_livepeer.sensors.livepeer import (
            DEFAULT_TIMEOUT,
            XCOM_ASSET_SPEC,
            XCOM_OUTPUT,
            XCOM_OUTPUT_ASSET_ID,
        )
    assert (XCOM_OUTPUT_ASSET_ID, XCOM_ASSET_SPEC, XCOM_OUTPUT) == ("output_asset_id", "asset_spec", "output")
    assert DEFAULT_TIMEOUT == waiting.DEFAULT_TIMEOUT == 7 * 24 * 3600
