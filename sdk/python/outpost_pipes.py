"""Report back to Outpost from a program launched with Pipes.

A task or an asset launches this script with ``pipes.run([...])``; the script opens the client,
does its work and reports what it found::

    from outpost_pipes import open_pipes

    with open_pipes() as pipes:
        model, auc = train(epochs=pipes.extras.get("epochs", 10))   # your existing code
        pipes.report_metadata({"auc": auc, "model_path": "s3://ml-bucket/churn/model.pkl"})
        pipes.report_check("auc_above_0_8", passed=auc > 0.8, metadata={"auc": auc})

This file is the whole client: Python 3.8 or later, standard library only. ``pipes.run`` puts it
on the launched process's ``PYTHONPATH`` (from the deployed bundle, or the SDK package at
``node_modules/@outpost/sdk/python/outpost_pipes.py``), so there is nothing to install or copy; to
run a script outside Outpost, copy this file next to it or onto ``PYTHONPATH``.

What the client offers:

- ``pipes.context``: the run, task, asset and partition (``pipes.context.run.id``,
  ``pipes.context.partition_key``, ``pipes.context.asset_key``, ``pipes.context.run_id``).
- ``pipes.extras``: the JSON the flow passed as ``extras`` (``{}`` when there were none).
- ``pipes.log.info("epoch 3: loss 0.21")``, also ``debug``, ``warning`` and ``error``: a log line
  of the task run. ``logging.getLogger().addHandler(pipes.logging_handler())`` forwards an existing
  script's ``logging`` output unchanged.
- ``report_metadata``, ``report_check``, ``report_result`` and the artifacts ``report_markdown``,
  ``report_table``, ``report_link`` and ``report_progress`` (``report_artifact`` is the general form).

Leaving the ``with`` block sends ``closed``; an exception that escapes it is reported with its
traceback and raised again, so the process exits with a non-zero status and the task fails with
that error. ``open_pipes()`` can also be called without ``with``: call ``pipes.close()`` at the
end (if the script ends without it, the client closes at exit, reporting an uncaught exception).

Values are converted to JSON: dates and times to ISO 8601 text, ``Decimal`` to a number, paths and
UUIDs to text, sets and tuples to lists, dataclasses to objects, numpy scalars and arrays through
their ``item()`` or ``tolist()``, and anything else to its ``str()``. JSON has no NaN or Infinity,
so a non-finite float becomes the text ``"NaN"``, ``"Infinity"`` or ``"-Infinity"``. One message
is at most 1 MiB as a line of JSON; a larger one raises ``ValueError`` and is not sent.

Outside Outpost (no ``OUTPOST_PIPES_CONTEXT`` in the environment) the client prints one line per
report to stderr, starting with ``outpost_pipes:``, and ``pipes.extras`` is ``{}``, so the script
still runs on a laptop.

The protocol is described in the SDK's ``docs/pipes.md``. This client writes protocol version 1.
It reads context files of version 1 and later: fields it does not know are ignored, so a newer
launcher's context still works for the fields described here.
"""

from __future__ import annotations

import atexit
import dataclasses
import datetime
import decimal
import enum
import json
import logging
import math
import os
import re
import sys
import threading
import traceback
import uuid
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any, Callable, Dict, Iterator, Optional, Union

__all__ = [
    "PROTOCOL_VERSION",
    "MAX_MESSAGE_BYTES",
    "ContextSection",
    "PipesClient",
    "PipesContext",
    "PipesError",
    "PipesLog",
    "open_pipes",
]

PROTOCOL_VERSION = 1
"""The protocol version this client writes in each message."""

MAX_MESSAGE_BYTES = 1024 * 1024
"""The largest message, as one line of UTF-8 JSON including its newline."""

CONTEXT_VARIABLE = "OUTPOST_PIPES_CONTEXT"
MESSAGES_VARIABLE = "OUTPOST_PIPES_MESSAGES"

LOG_LEVELS = ("debug", "info", "warning", "error")
ARTIFACT_TYPES = ("markdown", "table", "link", "progress")
_ARTIFACT_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_PREFIX = "outpost_pipes:"


class PipesError(Exception):
    """The client cannot start: a missing or unreadable context file, or an unusable channel."""


# ---------------------------------------------------------------------------------------------
# The context


def _attribute_name(name: str) -> str:
    """``flow_name`` -> ``flowName``: the context uses JSON's camelCase, Python code snake_case."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


class ContextSection(Mapping):
    """A read-only object of the context (``run``, ``task``, ...): ``section["flowName"]``, or as
    attributes in either spelling, ``section.flowName`` and ``section.flow_name``."""

    __slots__ = ("_values",)

    def __init__(self, values: Mapping) -> None:
        object.__setattr__(self, "_values", dict(values))

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __getattr__(self, name: str) -> Any:
        values = object.__getattribute__(self, "_values")
        for key in (name, _attribute_name(name)):
            if key in values:
                return values[key]
        raise AttributeError(f"the context has no field {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("the Pipes context is read-only")

    def __repr__(self) -> str:
        return f"ContextSection({self._values!r})"


def _section(document: Mapping, name: str, required: bool, path: str) -> Optional[ContextSection]:
    value = document.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, Mapping):
        raise PipesError(f"{_PREFIX} the context file {path} has no {name!r} object")
    return ContextSection(value)


class PipesContext:
    """What the launcher handed to the process: ``run``, ``task``, ``asset``, ``partition`` (each a
    read-only mapping, or None where it does not apply) and ``extras``. Outside Outpost every field
    is None and ``extras`` is empty."""

    __slots__ = ("protocol", "run", "task", "asset", "partition", "extras")

    protocol: Optional[int]
    run: Optional[ContextSection]
    task: Optional[ContextSection]
    asset: Optional[ContextSection]
    partition: Optional[ContextSection]
    extras: Dict[str, Any]

    def __init__(
        self,
        protocol: Optional[int] = None,
        run: Optional[ContextSection] = None,
        task: Optional[ContextSection] = None,
        asset: Optional[ContextSection] = None,
        partition: Optional[ContextSection] = None,
        extras: Optional[Dict[str, Any]] = None,
    ) -> None:
        values = {
            "protocol": protocol,
            "run": run,
            "task": task,
            "asset": asset,
            "partition": partition,
            "extras": extras if extras is not None else {},
        }
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("the Pipes context is read-only")

    def __getitem__(self, name: str) -> Any:
        if name not in self.__slots__:
            raise KeyError(name)
        return getattr(self, name)

    def get(self, name: str, default: Any = None) -> Any:
        return getattr(self, name) if name in self.__slots__ else default

    @property
    def run_id(self) -> Optional[str]:
        """The flow run's id, or None outside Outpost."""
        return self.run.get("id") if self.run is not None else None

    @property
    def asset_key(self) -> Optional[str]:
        """The key of the asset being materialised, or None when the process runs for a task."""
        return self.asset.get("key") if self.asset is not None else None

    @property
    def partition_key(self) -> Optional[str]:
        """The partition being materialised, or None for an unpartitioned run."""
        return self.partition.get("key") if self.partition is not None else None

    @classmethod
    def load(cls, path: str) -> PipesContext:
        """Reads a context file. Fields this client does not know are ignored, and a protocol
        version above 1 is accepted: a newer launcher's context still works for known fields."""
        try:
            if _is_url(path):
                document = json.loads(_http("GET", path, None).decode("utf-8"))
            else:
                with open(path, encoding="utf-8") as file:
                    document = json.load(file)
        except OSError as error:
            raise PipesError(f"{_PREFIX} cannot read the context file {path}: {error.strerror or error}") from None
        except ValueError as error:
            raise PipesError(f"{_PREFIX} the context file {path} is not JSON: {error}") from None
        if not isinstance(document, dict):
            raise PipesError(f"{_PREFIX} the context file {path} is not a JSON object")
        protocol = document.get("protocol")
        if isinstance(protocol, bool) or not isinstance(protocol, int) or protocol < 1:
            raise PipesError(f"{_PREFIX} the context file {path} has no valid protocol version (got {protocol!r})")
        extras = document.get("extras")
        if extras is None:
            extras = {}
        if not isinstance(extras, dict):
            raise PipesError(f"{_PREFIX} the context file {path} has extras that are not a JSON object")
        return cls(
            protocol=protocol,
            run=_section(document, "run", True, path),
            task=_section(document, "task", False, path),
            asset=_section(document, "asset", False, path),
            partition=_section(document, "partition", False, path),
            extras=extras,
        )

    def __repr__(self) -> str:
        return (
            f"PipesContext(run={self.run!r}, task={self.task!r}, asset={self.asset!r}, "
            f"partition={self.partition!r}, extras={self.extras!r})"
        )


# ---------------------------------------------------------------------------------------------
# JSON values


def _float(value: float) -> Union[float, str]:
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def _key(key: Any) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, enum.Enum):
        return _key(key.value)
    if key is None or isinstance(key, bool):
        return json.dumps(key)
    return str(key)


def to_json(value: Any, _seen: Optional[set] = None) -> Any:
    """A JSON-ready copy of ``value``, converted as the module documentation describes."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, enum.Enum):
        return to_json(value.value, _seen)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return _float(float(value))
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            return "NaN" if value.is_nan() else ("Infinity" if value > 0 else "-Infinity")
        return int(value) if value == value.to_integral_value() else _float(float(value))
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return _float(value.total_seconds())
    if isinstance(value, (PurePath, uuid.UUID)):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", "replace")

    seen = _seen if _seen is not None else set()
    container = isinstance(value, (Mapping, list, tuple, set, frozenset)) or (
        dataclasses.is_dataclass(value) and not isinstance(value, type)
    )
    if container:
        if id(value) in seen:
            raise ValueError(f"{_PREFIX} cannot report a value that contains itself")
        seen.add(id(value))
        try:
            if isinstance(value, Mapping):
                return {_key(k): to_json(v, seen) for k, v in value.items()}
            if isinstance(value, (list, tuple)):
                return [to_json(item, seen) for item in value]
            if isinstance(value, (set, frozenset)):
                items = [to_json(item, seen) for item in value]
                try:
                    return sorted(items)
                except TypeError:
                    return items
            return {f.name: to_json(getattr(value, f.name), seen) for f in dataclasses.fields(value)}
        finally:
            seen.discard(id(value))

    # numpy (and similar) scalars and arrays, without importing numpy.
    for method in ("tolist", "item"):
        convert = getattr(value, method, None)
        if callable(convert):
            try:
                converted = convert()
            except Exception:  # a method of that name that does something else
                continue
            if converted is not value:
                return to_json(converted, seen)
    return str(value)


def _encode(method: str, params: Dict[str, Any]) -> bytes:
    line = json.dumps(
        {"outpost_pipes": PROTOCOL_VERSION, "method": method, "params": params},
        ensure_ascii=False,
        allow_nan=False,
    )
    data = (line + "\n").encode("utf-8", "replace")
    if len(data) > MAX_MESSAGE_BYTES:
        raise ValueError(
            f"{_PREFIX} the {method} message is {len(data)} bytes as JSON, more than the limit of "
            f"{MAX_MESSAGE_BYTES} bytes (1 MiB); report a smaller value, or write large data to a file "
            f"and report its location"
        )
    return data


def _error_block(error: Union[BaseException, str]) -> Dict[str, Any]:
    if isinstance(error, BaseException):
        kind = type(error)
        module = kind.__module__
        name = kind.__qualname__ if module in ("builtins", "__main__") else f"{module}.{kind.__qualname__}"
        text = "".join(traceback.format_exception(kind, error, error.__traceback__))
        return {"type": name, "message": str(error), "traceback": text}
    return {"type": "Error", "message": str(error), "traceback": None}


# ---------------------------------------------------------------------------------------------
# Where messages go


def _is_url(spec: str) -> bool:
    return spec.startswith("http://") or spec.startswith("https://")


def _shown(url: str) -> str:
    """A session URL without its secret (the first path segment), for messages."""
    scheme, _, rest = url.partition("://")
    host, _, path = rest.partition("/")
    return f"{scheme}://{host}/…/{path.rpartition('/')[2]}" if path else url


_HTTP_ATTEMPTS = 5


def _http(method: str, url: str, body: Optional[bytes]) -> bytes:
    """One request to the launcher's session (``pipes.open``), tried again on connection errors and
    5xx answers with a growing pause; a 4xx answer is final."""
    import time
    import urllib.error
    import urllib.request

    last = ""
    for attempt in range(_HTTP_ATTEMPTS):
        request = urllib.request.Request(url, data=body, method=method)
        if body is not None:
            request.add_header("Content-Type", "application/x-ndjson")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.read()
        except urllib.error.HTTPError as error:
            last = f"HTTP {error.code}"
            if error.code < 500:
                break
        except (urllib.error.URLError, OSError) as error:
            last = str(getattr(error, "reason", error))
        time.sleep(min(8.0, 0.25 * 2**attempt))
    raise PipesError(f"{_PREFIX} {method} {_shown(url)} failed: {last}")


class _ChannelWriter:
    """Writes whole lines to the launcher's channel: ``fd:<n>``, ``file:<path>``, or the URL of a
    session the launcher opened with ``pipes.open`` (each message one POST, in order)."""

    def __init__(self, spec: str) -> None:
        self._spec = spec
        self._url: Optional[str] = None
        if _is_url(spec):
            self._url = spec
        elif spec.startswith("fd:") and spec[3:].isdigit():
            descriptor = int(spec[3:])
            try:
                self._stream = os.fdopen(descriptor, "wb")
            except OSError as error:
                raise PipesError(
                    f"{_PREFIX} {MESSAGES_VARIABLE} is {spec}, but descriptor {descriptor} is not open "
                    f"({error.strerror}); the launcher passes it to the process it starts"
                ) from None
        elif spec.startswith("file:") and len(spec) > 5:
            try:
                self._stream = open(spec[5:], "ab")
            except OSError as error:
                raise PipesError(f"{_PREFIX} cannot open the messages file {spec[5:]}: {error.strerror}") from None
        else:
            raise PipesError(
                f"{_PREFIX} {MESSAGES_VARIABLE} must be fd:<number>, file:<path> or an http(s) URL, not {spec!r}"
            )

    def write(self, method: str, params: Dict[str, Any], data: bytes) -> None:
        if self._url is not None:
            _http("POST", self._url, data)
            return
        self._stream.write(data)
        self._stream.flush()

    def close(self) -> None:
        if self._url is None:
            self._stream.close()


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


class _StderrWriter:
    """Outside Outpost: one readable line per report on stderr."""

    def write(self, method: str, params: Dict[str, Any], data: bytes) -> None:
        if method == "opened":
            text = f"no {CONTEXT_VARIABLE} in the environment, so reports are printed here"
        elif method == "log":
            text = f"[{params['level']}] {params['message']}"
        elif method == "metadata":
            text = f"metadata {_compact(params['values'])}"
        elif method == "check":
            outcome = "passed" if params["passed"] else "failed"
            text = f"check {params['name']} {outcome}"
            if "metadata" in params:
                text += f" {_compact(params['metadata'])}"
        elif method == "artifact":
            fields = {k: v for k, v in params.items() if k not in ("type", "key")}
            text = f"artifact {params['type']} {params['key']} {_compact(fields)}"
        elif method == "result":
            text = f"result {_compact(params['value'])}"
        elif method == "closed" and "error" in params:
            error = params["error"]
            text = f"closed with error {error['type']}: {error['message']}"
        else:
            text = method
        stream = sys.stderr
        if stream is not None:
            stream.write(f"{_PREFIX} {text}\n")
            stream.flush()

    def close(self) -> None:
        pass


# ---------------------------------------------------------------------------------------------
# The client


class PipesLog:
    """``pipes.log.info("...")``: log lines of the task run."""

    __slots__ = ("_client",)

    def __init__(self, client: PipesClient) -> None:
        self._client = client

    def debug(self, message: Any) -> None:
        self._client._log("debug", message)

    def info(self, message: Any) -> None:
        self._client._log("info", message)

    def warning(self, message: Any) -> None:
        self._client._log("warning", message)

    def error(self, message: Any) -> None:
        self._client._log("error", message)


class _PipesLoggingHandler(logging.Handler):
    def __init__(self, client: PipesClient, level: int) -> None:
        super().__init__(level)
        self._client = client

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if record.levelno >= logging.ERROR:
                level = "error"
            elif record.levelno >= logging.WARNING:
                level = "warning"
            elif record.levelno >= logging.INFO:
                level = "info"
            else:
                level = "debug"
            message = self.format(record)
            with self._client._lock:
                if self._client.closed:
                    return  # a record logged after the client closed has nowhere to go
                self._client._send_locked("log", {"level": level, "message": message})
        except Exception:  # logging's convention: report on stderr, never raise
            self.handleError(record)


class PipesClient:
    """The client ``open_pipes()`` returns; use it in a ``with`` block, or call ``close()``."""

    def __init__(self, context: PipesContext, writer: Union[_ChannelWriter, _StderrWriter]) -> None:
        self.context = context
        self.log = PipesLog(self)
        self._writer = writer
        self._lock = threading.RLock()
        self._closed = False
        self._excepthook: Optional[Callable[..., None]] = None
        self._previous_excepthook: Optional[Callable[..., None]] = None

    @property
    def extras(self) -> Dict[str, Any]:
        """The ``extras`` the flow passed, as a dict (``{}`` when there were none)."""
        return self.context.extras

    @property
    def closed(self) -> bool:
        return self._closed

    # Reports ------------------------------------------------------------------------------

    def report_metadata(self, values: Mapping) -> None:
        """Adds metadata to the materialisation (an asset) or the returned ``metadata`` (a task);
        a later value of the same key wins."""
        if not isinstance(values, Mapping):
            raise TypeError(f"{_PREFIX} report_metadata expects a dict, not {type(values).__name__}")
        self._send("metadata", {"values": to_json(values)})

    def report_check(self, name: str, passed: Any, metadata: Optional[Mapping] = None) -> None:
        """Records the result of an asset check, which ``pipes.reportedCheck()`` in the flow reads."""
        if not isinstance(name, str) or not name:
            raise TypeError(f"{_PREFIX} report_check expects the check's name as a non-empty string")
        outcome = _boolean(passed)
        if outcome is None:
            raise TypeError(f"{_PREFIX} report_check expects passed to be True or False, not {passed!r}")
        params: Dict[str, Any] = {"name": name, "passed": outcome}
        if metadata is not None:
            if not isinstance(metadata, Mapping):
                raise TypeError(f"{_PREFIX} report_check expects metadata as a dict, not {type(metadata).__name__}")
            params["metadata"] = to_json(metadata)
        self._send("check", params)

    def report_artifact(self, type: str, key: str, **fields: Any) -> None:
        """Publishes an artifact with the run: ``type`` is markdown (``markdown=``), table
        (``rows=``), link (``url=``, ``text=``) or progress (``progress=``); ``description=`` is
        optional. The helpers below are the usual way to call it."""
        if type not in ARTIFACT_TYPES:
            raise ValueError(f"{_PREFIX} an artifact's type is one of {', '.join(ARTIFACT_TYPES)}, not {type!r}")
        if not isinstance(key, str) or len(key) > 100 or not _ARTIFACT_KEY.match(key):
            raise ValueError(
                f"{_PREFIX} invalid artifact key {key!r}: use lowercase letters, digits, '-' or '_', "
                f"starting with a letter or digit, at most 100 characters"
            )
        description = fields.pop("description", None)
        if description is not None and not isinstance(description, str):
            raise TypeError(f"{_PREFIX} an artifact's description is a string")
        params: Dict[str, Any] = {"type": type, "key": key}
        params.update(_artifact_fields(type, fields))
        if description is not None:
            params["description"] = description
        self._send("artifact", params)

    def report_markdown(self, key: str, text: str, description: Optional[str] = None) -> None:
        """A Markdown document, shown with the run (as text-safe Markdown: no HTML)."""
        self.report_artifact("markdown", key, markdown=text, description=description)

    def report_table(self, key: str, rows: Any, description: Optional[str] = None) -> None:
        """A table from a list of row dicts (or anything with ``to_dict("records")``, like a pandas
        DataFrame); its columns are every key seen, in order."""
        self.report_artifact("table", key, rows=rows, description=description)

    def report_link(self, key: str, url: str, text: Optional[str] = None, description: Optional[str] = None) -> None:
        """A link (http or https) shown with the run."""
        self.report_artifact("link", key, url=url, text=text, description=description)

    def report_progress(self, key: str, fraction: float, description: Optional[str] = None) -> None:
        """A progress bar from 0 to 1; later reports of the same key update it in place."""
        self.report_artifact("progress", key, progress=fraction, description=description)

    def report_result(self, value: Any) -> None:
        """The value ``pipes.run`` returns as ``result`` (the last one reported wins)."""
        self._send("result", {"value": to_json(value)})

    def logging_handler(self, level: int = logging.NOTSET) -> logging.Handler:
        """A ``logging.Handler`` that sends each record as a log line of the task run, e.g.
        ``logging.getLogger().addHandler(pipes.logging_handler())``. Levels map to debug (below
        INFO), info, warning and error (ERROR and above); records after ``close()`` are dropped."""
        return _PipesLoggingHandler(self, level)

    # Lifecycle -----------------------------------------------------------------------------

    def close(self, error: Union[BaseException, str, None] = None) -> None:
        """Sends ``closed``, with ``error`` when the work failed: an exception (reported with its
        type, message and traceback) or a message (type ``Error``, no traceback). Closing again
        does nothing."""
        with self._lock:
            if self._closed:
                return
            params: Dict[str, Any] = {}
            if error is not None:
                params["error"] = _error_block(error)
            try:
                self._write_closed(params)
            finally:
                self._closed = True
                self._remove_exit_hooks()
                try:
                    self._writer.close()
                except OSError:
                    pass  # the launcher has gone; there is no one left to tell

    def __enter__(self) -> PipesClient:
        return self

    def __exit__(self, kind: Any, error: Optional[BaseException], tb: Any) -> bool:
        if isinstance(error, SystemExit) and error.code in (None, 0):
            error = None  # sys.exit(0) inside the block is a normal end
        self.close(error)
        return False  # an exception is raised again, so the process exits non-zero

    # Internals -----------------------------------------------------------------------------

    def _log(self, level: str, message: Any) -> None:
        self._send("log", {"level": level, "message": message if isinstance(message, str) else str(message)})

    def _send(self, method: str, params: Dict[str, Any]) -> None:
        with self._lock:
            if self._closed:
                raise RuntimeError(f"{_PREFIX} cannot send {method}: the client is closed")
            self._send_locked(method, params)

    def _send_locked(self, method: str, params: Dict[str, Any]) -> None:
        self._writer.write(method, params, _encode(method, params))

    def _write_closed(self, params: Dict[str, Any]) -> None:
        try:
            data = _encode("closed", params)
        except ValueError:
            # An enormous error message or traceback must not stop the client from closing.
            error = params["error"]
            error["traceback"] = (error["traceback"] or "")[-64 * 1024 :]
            error["message"] = error["message"][:64 * 1024]
            data = _encode("closed", params)
        self._writer.write("closed", params, data)

    def _install_exit_hooks(self) -> None:
        """Without a ``with`` block: an uncaught exception, then the end of the interpreter, close
        the client if the script did not."""
        previous = sys.excepthook

        def excepthook(kind: Any, error: BaseException, tb: Any) -> None:
            try:
                self.close(error)
            finally:
                previous(kind, error, tb)

        self._excepthook, self._previous_excepthook = excepthook, previous
        sys.excepthook = excepthook
        atexit.register(self.close)

    def _remove_exit_hooks(self) -> None:
        if self._excepthook is None:
            return
        if sys.excepthook is self._excepthook:
            sys.excepthook = self._previous_excepthook
        self._excepthook = self._previous_excepthook = None
        atexit.unregister(self.close)


def _boolean(value: Any) -> Optional[bool]:
    if isinstance(value, bool):
        return value
    item = getattr(value, "item", None)  # numpy.bool_, from comparing numpy numbers
    if callable(item) and type(value).__name__ in ("bool_", "bool"):
        converted = item()
        if isinstance(converted, bool):
            return converted
    return None


def _artifact_fields(kind: str, fields: Dict[str, Any]) -> Dict[str, Any]:
    allowed = {"markdown": ("markdown",), "table": ("rows",), "link": ("url", "text"), "progress": ("progress",)}[kind]
    unknown = sorted(set(fields) - set(allowed))
    if unknown:
        raise TypeError(f"{_PREFIX} a {kind} artifact has no field {unknown[0]!r} (it takes {', '.join(allowed)})")
    if kind == "markdown":
        markdown = fields.get("markdown")
        if not isinstance(markdown, str):
            raise TypeError(f"{_PREFIX} a markdown artifact needs markdown= text")
        return {"markdown": markdown}
    if kind == "table":
        rows = fields.get("rows")
        to_dict = getattr(rows, "to_dict", None)
        if not isinstance(rows, (list, tuple)) and callable(to_dict):
            rows = to_dict("records")  # a pandas DataFrame
        if not isinstance(rows, (list, tuple)) or not all(isinstance(row, Mapping) for row in rows):
            raise TypeError(f"{_PREFIX} a table artifact needs rows= as a list of dicts")
        return {"rows": to_json(list(rows))}
    if kind == "link":
        url, text = fields.get("url"), fields.get("text")
        if not isinstance(url, str) or not re.match(r"^https?://", url, re.IGNORECASE):
            raise ValueError(f"{_PREFIX} a link artifact needs an http or https url=, not {url!r}")
        if text is not None and not isinstance(text, str):
            raise TypeError(f"{_PREFIX} a link artifact's text is a string")
        return {"url": url, "text": text}
    progress = to_json(fields.get("progress"))
    if isinstance(progress, bool) or not isinstance(progress, (int, float)) or not 0 <= progress <= 1:
        raise ValueError(f"{_PREFIX} a progress artifact needs progress= as a number from 0 to 1, not {progress!r}")
    return {"progress": progress}


def open_pipes() -> PipesClient:
    """Opens the client from the environment the launcher set and sends ``opened``.

    Use it as ``with open_pipes() as pipes:``, or as ``pipes = open_pipes()`` followed by
    ``pipes.close()``. Without ``OUTPOST_PIPES_CONTEXT`` it returns a client that prints reports to
    stderr. Raises ``PipesError`` when the context file cannot be read or the channel cannot be
    opened.
    """
    context_path = os.environ.get(CONTEXT_VARIABLE)
    if not context_path:
        client = PipesClient(PipesContext(), _StderrWriter())
    else:
        context = PipesContext.load(context_path)
        spec = os.environ.get(MESSAGES_VARIABLE)
        if not spec:
            raise PipesError(f"{_PREFIX} {CONTEXT_VARIABLE} is set but {MESSAGES_VARIABLE} is not")
        client = PipesClient(context, _ChannelWriter(spec))
    client._send("opened", {})
    client._install_exit_hooks()
    return client
