"""Small pages a person can open, at the paths of Livepeer Studio's dashboard, and their routes.

The provider's extra links point at ``<host>/dashboard/assets/<id>``; on an emulator they open these pages
(no key needed: the emulator listens on loopback only).
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Response
from fastapi.responses import HTMLResponse

if TYPE_CHECKING:
    from livepeer_studio_emulator.state import EmulatorState


def asset_page(asset: dict[str, Any]) -> str:
    """An asset (as ``GET /api/asset/{id}`` shows it) as an HTML page."""
    status = asset.get("status") or {}
    rows = [
        ("Asset id", asset["id"]),
        ("Name", asset.get("name")),
        ("Status", status.get("phase")),
        ("Error", status.get("errorMessage")),
        ("Playback id", asset.get("playbackId")),
        ("Source", (asset.get("source") or {}).get("url")),
        ("Size (bytes)", asset.get("size")),
        ("Playback URL", asset.get("playbackUrl")),
        ("Download URL", asset.get("downloadUrl")),
    ]
    table = "\n".join(
        f"<tr><th>{escape(label)}</th><td>{escape(str(value))}</td></tr>"
        for label, value in rows
        if value is not None
    )
    return _page(f"Asset {asset.get('name') or asset['id']}", f"<table>\n{table}\n</table>")


def not_found_page(what: str) -> str:
    """The page of an id the emulator does not know."""
    return _page("Not found", f"<p>{escape(what)} was not found on this emulator.</p>")


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(title)} · Livepeer Studio emulator</title></head>\n"
        f"<body><h1>{escape(title)}</h1>\n{body}\n</body></html>\n"
    )


def add_routes(app: FastAPI, state: EmulatorState) -> None:
    """Add the pages for people to the emulator's app: ``GET /dashboard/assets/{id}``, no key."""

    @app.get("/dashboard/assets/{asset_id}")
    def page(asset_id: str) -> Response:
        try:
            return HTMLResponse(asset_page(state.asset_view(asset_id, False)))
        except KeyError:
            return HTMLResponse(not_found_page(f"Asset {asset_id}"), status_code=404)
