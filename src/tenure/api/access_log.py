"""The HTTP access log, without query strings.

A query string can carry what a log must not keep: the free-text reason an analyst gives to see a
customer's identity in clear (``?reveal=true&reason=...``), a search term. Access logs are kept
longer, copied further and read by more people than the audit trail, which is where such a view is
recorded. ``tenure serve`` therefore logs each request as its path with the query replaced by
``?…``: enough to tell two calls apart, nothing of what they asked.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

__all__ = ["QUERY_OMITTED", "DropQueryString", "access_log_config"]

QUERY_OMITTED = "?…"
# uvicorn's access record: (client address, method, path with query string, HTTP version, status)
_PATH_ARG = 2
_ACCESS_ARGS = 5


class DropQueryString(logging.Filter):
    """Replace the query string of a uvicorn access record's path with ``?…``."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == _ACCESS_ARGS:
            path = args[_PATH_ARG]
            if isinstance(path, str) and "?" in path:
                bare = path.partition("?")[0] + QUERY_OMITTED
                record.args = (*args[:_PATH_ARG], bare, *args[_PATH_ARG + 1 :])
        return True


def access_log_config() -> dict[str, Any]:
    """uvicorn's own logging configuration, with :class:`DropQueryString` on its access logger."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["drop_query_string"] = {"()": DropQueryString}
    config["loggers"]["uvicorn.access"]["filters"] = ["drop_query_string"]
    return config
