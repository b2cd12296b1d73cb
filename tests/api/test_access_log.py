"""The access log filter: a request's query string never reaches the log, the rest does."""

from __future__ import annotations

import logging
import logging.config

import pytest

from tenure.api.access_log import QUERY_OMITTED, DropQueryString, access_log_config


def access_record(path: str) -> logging.LogRecord:
    return logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", path, "1.1", 200), None,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("path", "bare"),
    [
        ("/v1/customers/C1/identity?reveal=true&reason=Zhang", "/v1/customers/C1/identity"),
        ("/v1/decisions?customer_id=C1", "/v1/decisions"),
        ("/health", None),
    ],
)  # fmt: skip
def test_the_query_string_is_replaced_and_the_rest_kept(path: str, bare: str | None) -> None:
    record = access_record(path)
    assert DropQueryString().filter(record) is True
    logged = path if bare is None else bare + QUERY_OMITTED
    assert record.getMessage() == f'127.0.0.1:5000 - "GET {logged} HTTP/1.1" 200'


def test_a_record_of_another_shape_passes_untouched() -> None:
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, "%s", ("a?b",), None)
    assert DropQueryString().filter(record) is True
    assert record.getMessage() == "a?b"


def test_the_serve_configuration_filters_the_access_logger() -> None:
    config = access_log_config()
    assert config["loggers"]["uvicorn.access"]["filters"] == ["drop_query_string"]
    assert config["filters"]["drop_query_string"]["()"] is DropQueryString
    logging.config.dictConfig(config)
    try:
        logger = logging.getLogger("uvicorn.access")
        assert any(isinstance(f, DropQueryString) for f in logger.filters)
    finally:
        logging.getLogger("uvicorn.access").filters.clear()
