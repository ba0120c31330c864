"""The URLs the extra links keep in the worker's process are read once and never pile up."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from airflow_provider_livepeer.links import livepeer as links
from airflow_provider_livepeer.links.livepeer import LivepeerAssetLink, LivepeerTaskLink


@dataclass
class RunningTI:
    """The running task instance as Airflow 3's worker hands it to ``get_link``: it can push XComs."""

    run_id: str
    dag_id: str = "dag"
    task_id: str = "import"
    map_index: int = -1
    try_number: int = 1
    xcoms: dict[str, Any] = field(default_factory=dict)

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = value


def test_each_url_is_handed_to_its_link_once_and_then_forgotten() -> None:
    before = len(links._STORED)
    tis = [RunningTI(run_id=f"r{n}") for n in range(50)]
    for n, ti in enumerate(tis):
        LivepeerTaskLink.persist({"ti": ti}, f"https://example.invalid/task/{n}")  # type: ignore[arg-type]
        LivepeerAssetLink.persist({"ti": ti}, f"https://example.invalid/asset/{n}")  # type: ignore[arg-type]
    assert len(links._STORED) == before + 50
    for n, ti in enumerate(tis):
        # What Airflow 3's worker does as each task ends: every link read once, its URL copied to XCom.
        assert LivepeerTaskLink().get_link(None, ti_key=ti) == f"https://example.invalid/task/{n}"  # type: ignore[arg-type]
        assert LivepeerAssetLink().get_link(None, ti_key=ti) == f"https://example.invalid/asset/{n}"  # type: ignore[arg-type]
        assert ti.xcoms["_link_LivepeerTaskLink"] == f"https://example.invalid/task/{n}"
    assert len(links._STORED) == before, "read URLs are not kept"


def test_urls_never_read_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(links, "_STORED", {})
    monkeypatch.setattr(links, "_STORED_MAX", 20)
    tis = [RunningTI(run_id=f"r{n}") for n in range(100)]
    for n, ti in enumerate(tis):
        # Airflow 2's workers never read them: only the web server does, from XCom.
        LivepeerTaskLink.persist({"ti": ti}, f"https://example.invalid/task/{n}")  # type: ignore[arg-type]
    assert len(links._STORED) == 20
    # The newest are the ones kept.
    assert LivepeerTaskLink().get_link(None, ti_key=tis[-1]) == "https://example.invalid/task/99"  # type: ignore[arg-type]
