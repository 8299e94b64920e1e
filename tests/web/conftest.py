"""The app served for real (uvicorn on a free loopback port, in a thread) over a copy of the demo
county's store, one account per role, and Debian's Chromium driven by Playwright.

The browser is the system's (``shutil.which("chromium")``, installed by scripts/system-deps.sh);
Playwright never downloads one. Screenshots go to ``test-artifacts/web/`` (git-ignored; override
with ``RESTORA_TEST_ARTIFACTS``), kept after the run to be looked at.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "demo-county"
REGION = "430599"  # the demo county's code (examples/demo-county/README.md)
PASSWORD = "correct horse battery staple 2026"
#: one account per role: (username, role, organisation, kind, region scope)
ACCOUNTS = (
    ("admin1", "admin", None, None, None),
    ("nr1", "natural_resources", "青山县自然资源局", "natural_resources_bureau", REGION),
    ("ee1", "ecology_environment", "青山县生态环境局", "ecology_environment_bureau", REGION),
    ("bank1", "finance", "青山农商银行", "bank", None),
    ("ent1", "enterprise", "青山修复工程有限公司", "enterprise", REGION),
    ("eval1", "evaluator", "湘中第三方评估中心", "evaluator", None),
    ("village1", "village", "黄泥塘村股份经济合作社", "village_collective", REGION),
)
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def _register_browser_support() -> None:
    """tests/web/browser_support.py (the browser tab of the tests) importable as
    ``browser_support`` by the test modules: test folders are not packages."""
    import importlib.util
    import sys

    if "browser_support" not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            "browser_support", Path(__file__).with_name("browser_support.py")
        )
        assert spec is not None and spec.loader is not None
        sys.modules["browser_support"] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules["browser_support"])


_register_browser_support()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    path = Path(os.environ.get("RESTORA_TEST_ARTIFACTS", ROOT / "test-artifacts" / "web"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _demo_store(path: Path) -> None:
    from restora.appraisal.io import read_county
    from restora.store import Store

    county = read_county(
        [DEMO / f for f in ("register.gpkg", "soil_samples.csv", "hazards.csv")],
        DEMO / "context.gpkg",
    )
    with Store(f"sqlite:///{path}") as store:
        store.add_register(county.register, source={"files": county.inputs})


def _accounts(engine: Any) -> None:
    from restora.service.credentials import new_account
    from restora.store import accounts
    from restora.store.audit import Change

    change = Change("tests/web accounts", user="tests")
    for username, role, org, kind, region in ACCOUNTS:
        org_id = None
        if org is not None:
            org_id = accounts.create_organisation(engine, org, kind, region, change=change)["id"]
        new_account(
            engine,
            username=username,
            role=role,
            password=PASSWORD,
            org_id=org_id,
            region_code=region,
            display_name=username,
            change=change,
        )


@dataclass
class Served:
    """The running app: its base URL, the app object, its store URL."""

    url: str
    app: Any
    store_url: str
    data_dir: Path
    password: str = PASSWORD
    usernames: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    import uvicorn

    from restora.service.app import create_app
    from restora.service.settings import Settings

    folder = tmp_path_factory.mktemp("web-served")
    db = folder / "demo.db"
    _demo_store(db)
    settings = Settings(
        database_url=f"sqlite:///{db}",
        secret_key="web-test-secret-key",
        secret_key_from_env=True,
        data_dir=folder / "data",
        context_file=DEMO / "context.gpkg",
        log_level="WARNING",
    )
    app = create_app(settings)
    _accounts(app.state.store.engine)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="uvicorn-web-tests", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the app did not start")
        time.sleep(0.05)
    try:
        yield Served(
            f"http://127.0.0.1:{port}",
            app,
            settings.database_url or "",
            folder / "data",
            usernames={role: username for username, role, *_ in ACCOUNTS},
        )
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    exe = shutil.which("chromium")
    if exe is None:
        raise RuntimeError(
            "Debian's chromium is not installed: run `make system-deps` as root "
            "(scripts/system-deps.sh installs it)"
        )
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=BROWSER_ARGS)
        try:
            yield b
        finally:
            b.close()
