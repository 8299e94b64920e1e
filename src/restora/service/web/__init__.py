"""The web UI, served by the app itself and working with no internet (docs/web.md).

Server-rendered Jinja2 pages (``service/templates``) with htmx for partial updates, MapLibre GL
JS for the register map and Apache ECharts for charts, all vendored under ``static/vendor`` by
``scripts/vendor-web.sh``; 中文 / English through Babel catalogues (:mod:`.i18n`).

- :mod:`.pages` — sign-in, the register map, a mine, projects, jobs, complaints, audit, about;
- :mod:`.marketpage` — the project library, finance products, offers and claims;
- :mod:`.registrypage` — the registry of credits and quotas, and its public pages;
- :mod:`.tradingpage` — its venues: trading, auctions, the order book, earth and stone, offsets;
- :mod:`.monitoringpage` — a mine's live monitoring: latest values, alerts, sensors offline;
- :mod:`.verificationpage` — a project's milestones, the evaluator's evidence review and sign-off;
- :mod:`.integritypage` — companies' integrity records and the public list of grades;
- :mod:`.evaluationpage` — the policy-evaluation dashboard and the coordination record;
- :mod:`.public` — the public pages of disclosed mines and projects, the complaint flow;
- :mod:`.geo` — the map's GeoJSON (sites, county boundary);
- :mod:`.docs` — the API's documentation page from the vendored Swagger UI;
- :mod:`.render` — one Jinja2 environment per language, the context of every page.

:func:`install` is the app's extension (``restora.service.app.EXTENSIONS``).
"""

from __future__ import annotations

from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Add the web pages, the map's GeoJSON and the API docs page to ``app``."""
    from restora.service.web import (
        docs,
        geo,
        integritypage,
        marketpage,
        pages,
        public,
        registrypage,
        tradingpage,
    )

    for module in (docs, geo, pages, public, marketpage, registrypage, tradingpage):
        app.include_router(module.router)
    app.include_router(integritypage.router)  # the integrity archive (issue 16)
    from restora.service.web import monitoringpage

    app.include_router(monitoringpage.router)  # a mine's live monitoring (issue 16)
    from restora.service.web import verificationpage

    app.include_router(verificationpage.router)  # milestones, evidence review, sign-off (issue 16)
    from restora.service.web import evaluationpage

    app.include_router(evaluationpage.router)  # evaluation dashboard, coordination (issue 17)
