"""The waiting functions moved from the sensor module to ``airflow_provider_livepeer.waiting``.

Importing them from the old place still works, with a DeprecationWarning naming the new one; the XCom keys
and the default timeout are still plain names of the sensor module.
"""

from __future__ import annotations

import importlib

import pytest

from airflow_provider_livepeer import waiting

MOVED = (
    "read_task",
    "raise_for_failure",
    "wait_for_task",
    "trigger_for",
    "result_from_event",
    "publish_result",
    "alias_outlets",
)


@pytest.mark.parametrize("name", MOVED)
def test_a_moved_function_imports_from_the_sensor_module_with_a_warning(name: str) -> None:
    sensors = importlib.import_module("airflow_provider_livepeer.sensors.livepeer")
    with pytest.warns(DeprecationWarning, match=rf"sensors\.livepeer\.{name} moved to .*waiting\.{name}"):
        moved = getattr(sensors, name)
    assert moved is getattr(waiting, name)


def test_the_xcom_keys_and_the_default_timeout_import_from_the_sensor_module_without_a_warning() -> None:
    import warnings

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


def test_an_unknown_name_is_still_an_attribute_error() -> None:
    sensors = importlib.import_module("airflow_provider_livepeer.sensors.livepeer")
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        sensors.nothing_here  # noqa: B018
