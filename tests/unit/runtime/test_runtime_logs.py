"""setup_logging: one JSON object per line with the NF's identity and extra fields."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import datetime

import pytest

from network_functions.runtime.logs import setup_logging

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for h in list(root.handlers):
        if h not in handlers:
            root.removeHandler(h)
    root.setLevel(level)


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_with_identity_and_extra() -> None:
    out = io.StringIO()
    log = setup_logging("hss", "hss-0", stream=out)
    assert log.name == "nfv.hss"
    log.info("started %s", "ok", extra={"address": "127.0.0.1", "port": 3868})
    logging.getLogger("asyncio").warning("from a library")
    first, second = lines(out)
    assert first["level"] == "INFO"
    assert first["nf"] == "hss" and first["replica"] == "hss-0"
    assert first["logger"] == "nfv.hss"
    assert first["msg"] == "started ok"
    assert first["address"] == "127.0.0.1" and first["port"] == 3868
    ts = str(first["ts"])
    assert ts.endswith("Z")
    parsed = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    assert parsed.utcoffset() is not None and parsed.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    assert second["logger"] == "asyncio" and second["level"] == "WARNING"
    assert list(first)[:6] == ["ts", "level", "nf", "replica", "logger", "msg"]


def test_exception_and_multiline_message_stay_on_one_line() -> None:
    out = io.StringIO()
    log = setup_logging("scscf", "r1", stream=out)
    try:
        raise ValueError("bad\nthing")
    except ValueError:
        log.exception("failed\nbadly")
    text = out.getvalue()
    assert text.count("\n") == 1
    (entry,) = lines(out)
    assert entry["level"] == "ERROR"
    assert entry["msg"] == "failed\nbadly"
    assert "ValueError: bad" in str(entry["exc"])
    assert "Traceback" in str(entry["exc"])


def test_level_filtering_and_idempotence() -> None:
    out1, out2 = io.StringIO(), io.StringIO()
    setup_logging("pcscf", "a", level="warning", stream=out1)
    log = setup_logging("pcscf", "b", level="INFO", stream=out2)
    log.debug("hidden")
    log.info("shown")
    assert out1.getvalue() == ""  # the first handler was replaced, not duplicated
    (entry,) = lines(out2)
    assert entry["replica"] == "b"
    setup_logging("pcscf", "b", level="ERROR", stream=out2)
    log.warning("filtered")
    assert len(lines(out2)) == 1
    nfv_handlers = [h for h in logging.getLogger().handlers if type(h).__name__ == "_NfvHandler"]
    assert len(nfv_handlers) == 1


def test_unserialisable_and_colliding_extras() -> None:
    out = io.StringIO()
    log = setup_logging("icscf", "r", stream=out)
    log.info("x", extra={"obj": object(), "nf": "spoofed", "data": b"\x00", "n": {"a": [1]}})
    (entry,) = lines(out)
    assert str(entry["obj"]).startswith("<object object")
    assert entry["nf"] == "icscf" and entry["extra_nf"] == "spoofed"
    assert entry["data"] == "b'\\x00'"
    assert entry["n"] == {"a": [1]}


def test_stack_info() -> None:
    out = io.StringIO()
    setup_logging("hss", "r", stream=out).info("here", stack_info=True)
    (entry,) = lines(out)
    assert "Stack (most recent call last)" in str(entry["stack"])


def test_unknown_level() -> None:
    with pytest.raises(ValueError, match="unknown log level"):
        setup_logging("hss", "r", level="chatty", stream=io.StringIO())


def test_default_stream_is_stdout_at_call_time(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging("hss", "r").info("to stdout")
    assert json.loads(capsys.readouterr().out)["msg"] == "to stdout"
