from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_livepeer import __version__, get_provider_info
from airflow_provider_livepeer.version_compat import AIRFLOW_V_3_0_PLUS
from tests.support.project import PROJECT_ROOT


def runtime_hooks() -> Any:
    """The hooks as tasks look them up: the task SDK's registry where this Airflow has one."""
    try:
        from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime
    except ImportError:  # before Airflow 3.2, the core's providers manager served tasks too
        from airflow.providers_manager import ProvidersManager

        return ProvidersManager().hooks
    return ProvidersManagerTaskRuntime().hooks


def test_providers_manager_knows_the_provider_and_hook() -> None:
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    provider = manager.providers["airflow-provider-livepeer"]
    assert provider.version == __version__
    hook = runtime_hooks()["livepeer"]
    assert hook is not None
    assert hook.hook_class_name == "airflow_provider_livepeer.hooks.livepeer.LivepeerHook"
    assert hook.connection_id_attribute_name == "livepeer_conn_id"
    # Airflow 3.2+ reads the form from the provider info; older ones from the hook: the same form either way.
    behaviour = manager.field_behaviours["livepeer"]
    assert set(behaviour["hidden_fields"]) == {"login", "schema", "port"}
    assert behaviour["relabeling"] == {"password": "API key", "host": "API host"}
    assert "extra__livepeer__read_timeout" in manager.connection_form_widgets
    # The webhook secret is a password field: masked in the form, and sensitive to Airflow.
    assert manager.connection_form_widgets["extra__livepeer__webhook_secret"].is_sensitive
    assert {
        "airflow_provider_livepeer.links.livepeer.LivepeerTaskLink",
        "airflow_provider_livepeer.links.livepeer.LivepeerAssetLink",
    } <= set(manager.extra_links_class_names)


@pytest.mark.skipif(
    not AIRFLOW_V_3_0_PLUS, reason="Airflow 2 has no API server; its Flask form reads the above"
)
def test_the_api_server_describes_the_livepeer_connection_form() -> None:
    """What the React UI renders: the API server's own description of each connection type's form.

    Asked in a fresh interpreter, as the API server asks it: the description depends on what the
    process's providers manager built before (Airflow 3.0 and 3.1 build it from the hook's WTForms fields).
    """
    code = (
        "import json\n"
        "from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService\n"
        "[form] = [m for m in HookMetaService.hook_meta_data() if m.connection_type == 'livepeer']\n"
        "print(json.dumps(form.model_dump(mode='json')))\n"
    )
    form = json.loads(output_of(sys.executable, "-c", code).strip().splitlines()[-1])
    assert form["hook_name"] == "Livepeer"
    fields = form["standard_fields"]
    assert fields["password"]["title"] == "API key"
    assert fields["host"]["title"] == "API host"
    assert fields["login"]["hidden"] and fields["port"]["hidden"]
    timeout = form["extra_fields"]["read_timeout"]
    assert timeout["schema"]["title"] == "Read timeout (seconds)"
    assert "default 30" in timeout["description"]


def output_of(*command: str) -> str:
    """What a command of this venv prints, in a fresh process with this test's environment."""
    return subprocess.run(
        command, capture_output=True, text=True, check=True, env={**os.environ}, timeout=120
    ).stdout


def test_airflow_providers_list_shows_it() -> None:
    out = output_of(str(Path(sys.executable).with_name("airflow")), "providers", "list", "--output", "plain")
    assert "airflow-provider-livepeer" in out
    assert __version__ in out


def test_provider_info_is_json_safe_and_complete() -> None:
    info = json.loads(json.dumps(get_provider_info()))
    assert info["package-name"] == "airflow-provider-livepeer"
    connection = info["connection-types"][0]
    assert connection["connection-type"] == "livepeer"
    assert connection["conn-fields"]["read_timeout"]["schema"]["type"] == ["number", "null"]


def test_the_installed_distribution_declares_what_it_supports() -> None:
    """What pip reads: Airflow 2.11 or newer with no upper bound, Python 3.11+, the provider entry point."""
    from importlib.metadata import distribution

    import airflow_provider_livepeer

    dist = distribution("airflow-provider-livepeer")
    airflow_requirements = [r for r in dist.requires or [] if r.split(">")[0].strip() == "apache-airflow"]
    assert airflow_requirements == ["apache-airflow>=2.11.0"]  # an older Airflow is refused, none newer
    assert dist.metadata["Requires-Python"] == ">=3.11"
    [entry_point] = [ep for ep in dist.entry_points if ep.group == "apache_airflow_provider"]
    assert entry_point.value == "airflow_provider_livepeer:get_provider_info"
    assert (Path(airflow_provider_livepeer.__file__).parent / "py.typed").is_file()


def test_the_livepeer_uri_scheme_is_listed_for_assets_and_for_datasets() -> None:
    """Static data, as official providers list it: Airflow 3 reads ``asset-uris``, 2 ``dataset-uris``."""
    info = get_provider_info()
    assert info["asset-uris"] == info["dataset-uris"]
    [scheme] = info["asset-uris"]
    assert scheme["schemes"] == ["livepeer"]
    assert scheme["handler"] == "airflow_provider_livepeer.assets.normalize_livepeer_uri"


def test_the_how_to_guides_listed_are_the_documentation_s_how_to_pages() -> None:
    """As official providers list theirs: each path a page of docs/, and every how-to page listed."""
    [integration] = get_provider_info()["integrations"]
    listed = integration["how-to-guide"]
    missing = [path for path in listed if not (PROJECT_ROOT / path.removeprefix("/")).is_file()]
    assert not missing, f"listed, but no such page: {missing}"
    pages = {
        f"/{path.relative_to(PROJECT_ROOT).as_posix()}"
        for path in (PROJECT_ROOT / "docs" / "howto").glob("*.md")
    }
    assert set(listed) == pages - {"/docs/howto/index.md"}
