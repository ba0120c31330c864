"""The ``livepeer`` Asset URI scheme, registered with Airflow through the provider info."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from airflow_provider_livepeer.assets import livepeer_uri_to_openlineage, normalize_livepeer_uri
from airflow_provider_livepeer.version_compat import AIRFLOW_V_3_0_PLUS


def providers_manager() -> Any:
    """The registry tasks read Asset schemes from: the task SDK's where this Airflow has one."""
    try:
        from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime
    except ImportError:
        from airflow.providers_manager import ProvidersManager

        return ProvidersManager()
    return ProvidersManagerTaskRuntime()


@pytest.mark.parametrize(
    "uri", ["livepeer://livepeer.studio/assets/a1-b_2", "livepeer://127.0.0.1:3000/tasks/0f9e"]
)
def test_the_uris_the_provider_makes_are_valid(uri: str) -> None:
    assert normalize_livepeer_uri(urlsplit(uri)).geturl() == uri


@pytest.mark.parametrize(
    ("uri", "complaint"),
    [
        ("livepeer:///assets/a1", "it has no API host"),
        ("livepeer://livepeer.studio/streams/s1", "path '/streams/s1'"),
        ("livepeer://livepeer.studio/assets", "Invalid Livepeer asset id ''"),
        ("livepeer://livepeer.studio/assets/a1/more", "Invalid Livepeer asset id 'a1/more'"),
        ("livepeer://livepeer.studio/tasks/a%20b", "Invalid Livepeer task id 'a%20b'"),
        ("livepeer://livepeer.studio/assets/a1?x=1", "a query string"),
    ],
)
def test_any_other_uri_is_refused_clearly(uri: str, complaint: str) -> None:
    with pytest.raises(ValueError, match="Invalid Livepeer") as err:
        normalize_livepeer_uri(urlsplit(uri))
    assert complaint in str(err.value)
    assert "livepeer://<api host>/assets/<asset id>" in str(err.value) or "expected 1 to 128" in str(
        err.value
    )


def test_airflow_knows_the_scheme() -> None:
    manager = providers_manager()
    handlers = manager.asset_uri_handlers if AIRFLOW_V_3_0_PLUS else manager.dataset_uri_handlers
    converters = (
        manager.asset_to_openlineage_converters
        if AIRFLOW_V_3_0_PLUS
        else manager.dataset_to_openlineage_converters
    )
    assert handlers["livepeer"] is normalize_livepeer_uri
    assert converters["livepeer"] is livepeer_uri_to_openlineage


@pytest.mark.skipif(not AIRFLOW_V_3_0_PLUS, reason="Airflow 2 only warns about a Dataset URI it refuses")
def test_an_airflow_asset_with_a_bad_livepeer_uri_is_refused() -> None:
    from airflow.providers.common.compat.sdk import Asset

    assert Asset("livepeer://Livepeer.Studio/assets/a1/").uri == "livepeer://livepeer.studio/assets/a1"
    with pytest.raises(ValueError, match=r"Invalid Livepeer URI 'livepeer://livepeer.studio/videos/a1'"):
        Asset("livepeer://livepeer.studio/videos/a1")


@pytest.mark.skipif(AIRFLOW_V_3_0_PLUS, reason="Airflow 3 refuses the URI (the test above)")
def test_an_airflow_2_dataset_with_a_bad_livepeer_uri_is_warned_about() -> None:
    from airflow.providers.common.compat.sdk import Asset

    with pytest.warns(UserWarning, match="Invalid Livepeer URI"):
        Asset("livepeer://livepeer.studio/videos/a1")


def test_openlineage_sees_livepeer_assets_as_datasets() -> None:
    from airflow.providers.common.compat.sdk import Asset
    from airflow.providers.openlineage.utils.utils import translate_airflow_asset

    dataset = translate_airflow_asset(Asset("livepeer://127.0.0.1:3000/assets/a1"), lineage_context=None)
    assert dataset is not None
    assert (dataset.namespace, dataset.name) == ("livepeer://127.0.0.1:3000", "assets/a1")
    task = livepeer_uri_to_openlineage(Asset("livepeer://livepeer.studio/tasks/t1"))
    assert (task.namespace, task.name) == ("livepeer://livepeer.studio", "tasks/t1")
