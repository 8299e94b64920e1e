"""The browser tab of the web tests (loaded by path from each test module: test folders are not
packages): one Playwright context (its own cookies) and page, language fixed by
Accept-Language, console errors and page errors kept to be checked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

VIEWPORT = {"width": 1400, "height": 900}


class Tab:
    """A signed-in (or anonymous) visitor of the app served at ``base``.

    ``wait``: ``goto`` waits until the network is idle; ``ignore_4xx``: console lines about a
    4xx response (a refusal the test asks for) are not errors.
    """

    def __init__(
        self,
        browser: Any,
        base: str,
        password: str,
        *,
        artifacts: Path | None = None,
        locale: str = "zh-CN",
        wait: bool = True,
        ignore_4xx: bool = True,
    ) -> None:
        self.base, self.password, self.artifacts, self.wait = base, password, artifacts, wait
        self.context = browser.new_context(viewport=VIEWPORT, locale=locale, accept_downloads=True)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))

        def console(m: Any) -> None:
            if m.type == "error" and not (ignore_4xx and "status of 4" in m.text):
                self.errors.append(f"console {m.type}: {m.text}")

        self.page.on("console", console)

    def goto(self, path: str) -> Any:
        response = self.page.goto(self.base + path)
        if self.wait:
            self.page.wait_for_load_state("networkidle")
        return response

    def shot(self, name: str) -> Path:
        assert self.artifacts is not None, "a Tab made without artifacts takes no screenshots"
        path = self.artifacts / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def sign_in(self, username: str, password: str | None = None) -> None:
        self.goto("/signin")
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", password or self.password)
        self.page.click("#signin-form button[type=submit]")
        self.page.wait_for_function("() => !location.pathname.startsWith('/signin')")
        self.page.wait_for_load_state("networkidle")

    def csrf(self) -> str:
        r = self.context.request.get(self.base + "/auth/session")
        assert r.ok, r.text()
        return str(r.json()["csrf_token"])

    def submit(self, form: str, button: str = "button[type=submit]") -> None:
        with self.page.expect_navigation(timeout=30_000):
            self.page.click(f"{form} {button}")
        self.page.wait_for_load_state("networkidle")

    def check_clean(self) -> None:
        bad = [e for e in self.errors if "GL Driver Message" not in e]
        assert not bad, "\n".join(bad)

    def close(self) -> None:
        self.context.close()
