"""``/docs``: the API's interactive description, with its viewer served by Tenure itself (the
brief: no static asset is loaded from a CDN)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient


def test_the_docs_page_loads_every_asset_from_this_server(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert "SwaggerUIBundle" in page.text
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources, page.text
    assert all(source.startswith("/docs/assets/") for source in sources), sources
    assert "url: '/openapi.json'" in page.text
    assert "//" not in "".join(sources)


def test_the_viewer_and_its_styles_are_served_without_a_credential(client: TestClient) -> None:
    script = client.get("/docs/assets/swagger-ui-bundle.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert "SwaggerUIBundle" in script.text
    styles = client.get("/docs/assets/swagger-ui.css")
    assert styles.status_code == 200
    assert styles.headers["content-type"].startswith("text/css")
    assert client.get("/docs/assets/favicon-32x32.png").status_code == 200
    assert client.get("/docs/assets/../../app.py").status_code == 404


def test_the_oauth2_callback_is_served_and_redoc_is_not_offered(client: TestClient) -> None:
    assert "oauth2" in client.get("/docs/oauth2-redirect").text.lower()
    assert client.get("/redoc").status_code in (401, 404)
