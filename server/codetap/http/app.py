"""The FastAPI application of the HTTP API: authentication, error mapping, service routes.

Every route but ``/healthz`` and ``/openapi.json`` needs ``Authorization: Bearer TOKEN``
(RFC 6750): none is 401 (with ``WWW-Authenticate: Bearer``), a wrong one 403. Errors are
JSON ``{"detail": ...}``: 422 for invalid requests (FastAPI's validation; ``detail`` lists
``{loc, msg, type}`` naming the field), 404 for an unknown task, 409 for an operation the
task's state does not allow, 503 while the runtime worker restarts. Task routes are in
:mod:`codetap.http.tasks`.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from codetap.errors import CodetapError, ConfigError, InvalidTransition, TaskNotFound

if TYPE_CHECKING:
    from codetap.http.events import EventHub
    from codetap.http.idempotency import IdempotencyKeys
    from codetap.lsp.journal import JournalReader
    from codetap.runtime_api import RuntimeAPI
    from codetap.store import Store

API_VERSION = "1"


@dataclass(slots=True)
class Context:
    """What the routes use: the runtime (commands), the front's read-only ``store`` and
    ``journal`` (reads), the live-event ``hub``, idempotency ``keys`` and the ``token``."""

    runtime: RuntimeAPI
    store: Store
    journal: JournalReader
    hub: EventHub
    keys: IdempotencyKeys
    token: str


_bearer = HTTPBearer(auto_error=False, description="The token of `[server] token_env`, or "
                     "the generated one in `<config dir>/http-token`.")


def context(request: Request) -> Context:
    """The application's :class:`Context` (a FastAPI dependency)."""
    ctx: Context = request.app.state.ctx
    return ctx


COOKIE = "codetap_token"
"""The web panel's cookie (HttpOnly, SameSite=Strict): the token, set by ``POST /login``."""


def authorized(request: Request, creds: Annotated[HTTPAuthorizationCredentials | None,
                                                  Depends(_bearer)]) -> None:
    """401 without a token, 403 with a wrong one (constant-time comparison). The token is
    the bearer header's or, without that header, the web panel's :data:`COOKIE`."""
    given = creds.credentials if creds is not None else request.cookies.get(COOKIE)
    if given is None:
        raise HTTPException(401, "a bearer token is required",
                            headers={"WWW-Authenticate": "Bearer"})
    expected = context(request).token
    if not secrets.compare_digest(given.encode(), expected.encode()):
        raise HTTPException(403, "wrong token")


def create_app(ctx: Context) -> FastAPI:
    """The application serving ``ctx`` (see the module doc and docs/http.md)."""
    from codetap.http.tasks import router

    app = FastAPI(title="codetap", version=API_VERSION, summary="Long-running AI coding "
                  "tasks: create, follow, review, apply.", docs_url=None, redoc_url=None)
    app.state.ctx = ctx

    @app.exception_handler(TaskNotFound)
    async def _not_found(request: Request, exc: TaskNotFound) -> Response:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(InvalidTransition)
    async def _conflict(request: Request, exc: InvalidTransition) -> Response:
        return JSONResponse({"detail": str(exc)}, status_code=409)

    @app.exception_handler(ConfigError)
    async def _config(request: Request, exc: ConfigError) -> Response:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.exception_handler(CodetapError)
    async def _other(request: Request, exc: CodetapError) -> Response:
        from codetap.daemon.runtime_proxy import WorkerGone
        from codetap.http.apply import ApplyConflict
        if isinstance(exc, ApplyConflict):
            return JSONResponse({"detail": str(exc), "files": exc.files}, status_code=409)
        from codetap.store import StoreUnavailable
        status = 503 if isinstance(exc, WorkerGone | StoreUnavailable) else 400
        return JSONResponse({"detail": str(exc)}, status_code=status)

    @app.get("/healthz", tags=["service"])
    async def healthz() -> dict[str, object]:
        """Liveness: ``{"ok": true}`` while the daemon serves (no token needed)."""
        return {"ok": True}

    @app.get("/metrics", tags=["service"], dependencies=[Depends(authorized)],
             response_class=Response)
    async def metrics() -> Response:
        """Prometheus text exposition format (see :mod:`codetap.metrics`)."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        from codetap.metrics import REGISTRY
        body = await asyncio.to_thread(generate_latest, REGISTRY)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    app.include_router(router, dependencies=[Depends(authorized)])
    from codetap.http.web import install
    install(app)
    return app
