from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from airflow_provider_livepeer import __version__, get_provider_info


def test_providers_manager_knows_the_provider_and_hook() -> None:
    from airflow.providers_manager import ProvidersManager
    from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

    manager = ProvidersManager()
    provider = manager.providers["airflow-provider-livepeer"]
    assert provider.version == __version__
    hook = ProvidersManagerTaskRuntime().hooks["livepeer"]
    assert hook is not None
    assert hook.hook_class_name == "airflow_provider_livepeer.hooks.livepeer.LivepeerHook"
    assert hook.connection_id_attribute_name == "livepeer_conn_id"
    behaviour = manager.field_behaviours["livepeer"]
    assert set(behaviour["hidden_fields"]) == {"login", "schema", "port"}
    assert behaviour["relabeling"] == {"password": "API key", "host": "API host"}
    assert "extra__livepeer__read_timeout" in manager.connection_form_widgets
    assert {
        "airflow_provider_livepeer.links.livepeer.LivepeerTaskLink",
        "airflow_provider_livepeer.links.livepeer.LivepeerAssetLink",
    } <= set(manager.extra_links_class_names)


def test_airflow_providers_list_shows_it() -> None:
    airflow = Path(sys.executable).with_name("airflow")
    out = subprocess.run(
        [str(airflow), "providers", "list", "--output", "plain"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ},
        timeout=120,
    ).stdout
    assert "airflow-provider-livepeer" in out
    assert __version__ in out


def test_provider_info_is_json_safe_and_complete() -> None:
    import json

    info = json.loads(json.dumps(get_provider_info()))
    assert info["package-name"] == "airflow-provider-livepeer"
    connection = info["connection-types"][0]
    assert connection["connection-type"] == "livepeer"
    assert connection["conn-fields"]["read_timeout"]["schema"]["type"] == ["number", "null"]
