"""Structured logs: one JSON object per line on stdout, for every NF process.

:func:`setup_logging` installs a single handler on the root logger, so the NF's own loggers
(``nfv.<nf>``, ``nfv.http``, ...) and library loggers (``asyncio``) all come out as JSON
lines that ``kubectl logs``, ``docker logs`` and the local platform's log files can be
filtered with ``jq``. Each line carries ``ts`` (ISO-8601, UTC, millisecond precision),
``level``, ``nf``, ``replica``, ``logger``, ``msg``, every field passed with ``extra=``
and, when present, ``exc`` (the formatted traceback) and ``stack``.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import IO, Any

__all__ = ["JsonFormatter", "setup_logging"]

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_RECORD_ATTRS = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys()
    | {"message", "asctime", "taskName"}
)
_CORE_FIELDS = ("ts", "level", "nf", "replica", "logger", "msg", "exc", "stack")


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object (no newlines inside: they are escaped)."""

    def __init__(self, nf: str, replica: str) -> None:
        super().__init__()
        self.nf = nf
        self.replica = replica

    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        out: dict[str, Any] = {
            "ts": ts.replace("+00:00", "Z"),
            "level": record.levelname,
            "nf": self.nf,
            "replica": self.replica,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key in _RECORD_ATTRS or key.startswith("_"):
                continue
            out[f"extra_{key}" if key in _CORE_FIELDS else key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            out["exc"] = record.exc_text
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        return json.dumps(out, default=_fallback, ensure_ascii=False)


def _fallback(obj: object) -> str:
    try:
        return str(obj)
    except Exception:
        return f"<unprintable {type(obj).__name__}>"


class _NfvHandler(logging.StreamHandler[IO[str]]):
    """Marks the handler setup_logging installed, so a second call replaces it."""


def setup_logging(
    nf: str, replica: str, *, level: str = "INFO", stream: IO[str] | None = None
) -> logging.Logger:
    """Send every log record to ``stream`` (default: ``sys.stdout`` at call time) as JSON.

    Idempotent: calling it again replaces the handler it installed (other handlers on the
    root logger are left alone). Returns the NF's logger, ``nfv.<nf>``.
    """
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ValueError(
            f"unknown log level {level!r} (use DEBUG, INFO, WARNING, ERROR or CRITICAL)"
        )
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, _NfvHandler):
            root.removeHandler(handler)
            handler.close()
    handler = _NfvHandler(stream if stream is not None else sys.stdout)
    handler.setFormatter(JsonFormatter(nf, replica))
    root.addHandler(handler)
    root.setLevel(numeric)
    return logging.getLogger(f"nfv.{nf}")
