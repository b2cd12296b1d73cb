"""The API's interactive documentation at ``/docs``, served from this package, never a CDN.

FastAPI's own ``/docs`` and ``/redoc`` pages load their viewer from public CDNs (and ReDoc its fonts
from Google), which a bank's network rarely allows and which puts a third party's script on a page
that can hold an analyst's token. Swagger UI is vendored instead (``static/swagger-ui``: the
``swagger-ui-dist`` files from the npm registry, version in ``VERSION``) and served under
``/docs/assets``; ReDoc is not offered.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

__all__ = ["ASSETS_PATH", "DOCS_PATH", "OAUTH2_REDIRECT_PATH", "install_docs"]

DOCS_PATH = "/docs"
OAUTH2_REDIRECT_PATH = "/docs/oauth2-redirect"
ASSETS_PATH = "/docs/assets"
_ASSETS = Path(__file__).parent / "static" / "swagger-ui"


def install_docs(app: FastAPI) -> None:
    """Add ``/docs``, its OAuth2 callback and its assets to ``app`` (made without ``docs_url``)."""
    openapi_url = app.openapi_url or "/openapi.json"

    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} API",
            swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_PATH}/favicon-32x32.png",
            oauth2_redirect_url=OAUTH2_REDIRECT_PATH,
        )

    async def oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    app.add_api_route(DOCS_PATH, docs, methods=["GET"], include_in_schema=False)
    app.add_api_route(
        OAUTH2_REDIRECT_PATH, oauth2_redirect, methods=["GET"], include_in_schema=False
    )
    app.mount(ASSETS_PATH, StaticFiles(directory=_ASSETS), name="docs-assets")
