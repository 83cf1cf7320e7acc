"""The web panel: server-rendered pages at ``/`` over the HTTP API (docs/web.md).

:func:`install` adds to the application: the pages (:mod:`.pages`: login, tasks, task),
their static files (``/static``: small scripts, a stylesheet, the vendored uPlot chart
library), the server-wide task stream and statistics (:mod:`.feed`: ``GET /v1/events``,
``GET /v1/stats``, ``GET /v1/scheduler``) and usage per role (:mod:`.team`:
``GET /v1/tasks/{id}/usage``) and the pending question (:mod:`.questions`). Pages need the token as the API does, from the ``codetap_token``
cookie the login page sets; without it they redirect to ``/login``.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    """Add the panel's routes and static files to ``app`` (see the module doc)."""
    from codetap.http.app import authorized
    from codetap.http.web.feed import router as feed
    from codetap.http.web.pages import router as pages
    from codetap.http.web.questions import router as questions
    from codetap.http.web.team import router as team

    app.include_router(feed, dependencies=[Depends(authorized)])
    app.include_router(team, dependencies=[Depends(authorized)])
    app.include_router(questions, dependencies=[Depends(authorized)])
    app.include_router(pages)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
