"""A real headless Chromium: Debian's ``chromium`` driven by Playwright, for the deployment's UI and the
documentation site.

No browser is ever downloaded: Playwright starts ``/usr/bin/chromium`` (``LIVEPEER_CHROMIUM`` names
another) with a fresh profile. Every step a scenario wants to be seen is saved as a numbered screenshot in
one folder, printed at the start; a scenario fails on a missing element (a locator that times out), never on
a pixel.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

CHROMIUM = Path(os.environ.get("LIVEPEER_CHROMIUM", "/usr/bin/chromium"))
#: Headless, and nothing that reaches beyond this machine on its own (updates, sync, QUIC probes).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # the tests run as root, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: How long an element may take to appear: a deployment's UI shares two cores with the whole deployment.
UI_TIMEOUT_MS = 60_000


class Screenshots:
    """Numbered screenshots of one scenario's steps, in ``folder``."""

    def __init__(self, page: Page, folder: Path) -> None:
        self.page = page
        self.folder = folder
        self.taken: list[Path] = []

    def take(self, step: str) -> Path:
        """Save the whole page as ``NN-<step>.png``."""
        name = re.sub(r"[^a-z0-9]+", "-", step.lower()).strip("-")
        path = self.folder / f"{len(self.taken) + 1:02d}-{name}.png"
        self.page.evaluate("window.scrollTo(0, 0)")  # a fixed header would cover the page's top otherwise
        self.page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)
        return path


def screenshot_folder(name: str, fallback: Path) -> Path:
    """``$LIVEPEER_SCREENSHOTS/<name>`` when that is set, else ``fallback``; printed, and made empty."""
    root = os.environ.get("LIVEPEER_SCREENSHOTS")
    folder = Path(root) / name if root else fallback
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    print(f"\nScreenshots of {name}: {folder}")
    return folder


@contextmanager
def browser_page(base_url: str | None = None) -> Iterator[Page]:
    """A page of a fresh headless Chromium profile; closed (and the browser stopped) on exit.

    :param base_url: what relative ``page.goto`` paths are resolved against (none: only full URLs).
    """
    if not CHROMIUM.exists():
        raise RuntimeError(
            f"No Chromium at {CHROMIUM}: install Debian's 'chromium' package (apt-get install chromium), "
            "or set LIVEPEER_CHROMIUM to a Chromium executable"
        )
    with tempfile.TemporaryDirectory(prefix="lp-chromium-") as profile, sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            base_url=base_url,
            viewport={"width": 1400, "height": 1000},
        )
        context.set_default_timeout(UI_TIMEOUT_MS)
        try:
            yield context.pages[0] if context.pages else context.new_page()
        finally:
            context.close()
