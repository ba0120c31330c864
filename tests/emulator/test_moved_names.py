"""Names that moved out of ``emulator.state`` still import from it, with a DeprecationWarning."""

from __future__ import annotations

import importlib

import pytest

from airflow_provider_livepeer.emulator import accounts, request_log

MOVED = {
    "DEFAULT_API_KEY": accounts,
    "default_api_keys": accounts,
    "mask_key": accounts,
    "RequestRecord": request_log,
}


@pytest.mark.parametrize("name", sorted(MOVED))
def test_a_moved_name_imports_from_the_state_module_with_a_warning(name: str) -> None:
    state = importlib.import_module("airflow_provider_livepeer.emulator.state")
    new_module = MOVED[name].__name__
    with pytest.warns(DeprecationWarning, match=rf"emulator\.state\.{name} moved to {new_module}\.{name}"):
        moved = getattr(state, name)
    assert moved is getattr(MOVED[name], name)


def test_the_from_import_form_works_too() -> None:
    with pytest.warns(DeprecationWarning, match=r"emulator\.state\.mask_key moved"):
        from airflow_provider_livepeer.emulator.state import mask_key
    assert mask_key is accounts.mask_key


def test_an_unknown_name_is_still_an_attribute_error() -> None:
    state = importlib.import_module("airflow_provider_livepeer.emulator.state")
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        state.nothing_here  # noqa: B018
