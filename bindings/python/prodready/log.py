"""Structured JSON logs that never leak a secret (prodready/log.h), and a
logging.Handler that sends standard-library records through them.

    logger = Logger(sink="stderr")               # or a file path, an fd, a callable
    logging.getLogger().addHandler(LogHandler(logger))
    logging.getLogger("app").warning("login failed", extra={"user": "bob", "password": pw})
    # {"time":...,"level":"warn","msg":"login failed","logger":"app","user":"bob","password":"[REDACTED]"}
"""
import ctypes
import json
import logging
import math
from typing import Any, Callable, Mapping, Optional, Union

from . import _lib
from .errors import check

_lib_ = _lib.lib
DEBUG, INFO, WARN, ERROR, FATAL, OFF = range(6)
_SINK_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t)

_lib.declare({name: (res, args) for name, res, args in (
        ("prd_logger_new", ctypes.c_int, [_lib.c_void_pp]),
        ("prd_logger_free", None, [ctypes.c_void_p]),
        ("prd_logger_set_level", ctypes.c_int, [ctypes.c_void_p, ctypes.c_int]),
        ("prd_logger_enabled", ctypes.c_int, [ctypes.c_void_p, ctypes.c_int]),
        ("prd_logger_set_fd", ctypes.c_int, [ctypes.c_void_p, ctypes.c_int]),
        ("prd_logger_set_file", ctypes.c_int, [ctypes.c_void_p, ctypes.c_char_p]),
        ("prd_logger_set_callback", ctypes.c_int, [ctypes.c_void_p, _SINK_FN, ctypes.c_void_p]),
        ("prd_logger_redact_key", ctypes.c_int, [ctypes.c_void_p, ctypes.c_char_p]),
        ("prd_logger_allow_key", ctypes.c_int, [ctypes.c_void_p, ctypes.c_char_p]),
        ("prd_log_json", None, [ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_char_p,
                                ctypes.c_size_t]))})


def _level_of(levelno: int) -> int:
    if levelno >= logging.CRITICAL:
        return FATAL
    if levelno >= logging.ERROR:
        return ERROR
    if levelno >= logging.WARNING:
        return WARN
    if levelno >= logging.INFO:
        return INFO
    return DEBUG


def _jsonable(value: Any) -> Any:
    """A field value as JSON: numbers, strings, booleans, None, lists and
    dicts as they are; anything else as its str() (never a crash)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


class Logger:
    """A redacting JSON-lines logger. sink: "stderr" (the default), a file
    path (appended, reopened by the library on rotation), an int fd, or a
    callable taking each line as str (called one line at a time)."""

    def __init__(self, sink: Union[str, int, Callable[[str], None]] = "stderr",
                 level: int = INFO, redact_keys=(), allow_keys=()):
        h = ctypes.c_void_p()
        check(_lib_.prd_logger_new(ctypes.byref(h)))
        self._lg = h
        self._callback = None
        try:
            if callable(sink):
                def deliver(_user, line, length, _sink=sink):
                    try:
                        _sink(ctypes.string_at(line, length).decode("utf-8", "replace"))
                    except Exception:  # noqa: BLE001 - must not unwind into C
                        pass
                self._callback = _SINK_FN(deliver)  # kept: C calls it as long as we live
                check(_lib_.prd_logger_set_callback(h, self._callback, None))
            elif isinstance(sink, int):
                check(_lib_.prd_logger_set_fd(h, sink))
            elif sink != "stderr":
                check(_lib_.prd_logger_set_file(h, sink.encode()))
            check(_lib_.prd_logger_set_level(h, level))
            for k in redact_keys:
                check(_lib_.prd_logger_redact_key(h, k.encode()))
            for k in allow_keys:
                check(_lib_.prd_logger_allow_key(h, k.encode()))
        except BaseException:
            self.close()
            raise

    def prometheus(self, prefix: Optional[str] = None) -> str:
        """The logger's counters in Prometheus text (prefix default
        "prodready_log_"): lines by level, dropped, sampled out, write
        errors, redactions by rule."""
        return _lib.prometheus_text(_lib_.prd_logger_prometheus, self._lg, prefix)

    def close(self) -> None:
        if getattr(self, "_lg", None):
            _lib_.prd_logger_free(self._lg)  # flushes; the callback is not called after
            self._lg = None

    def __del__(self):
        self.close()

    def set_level(self, level: int) -> None:
        check(_lib_.prd_logger_set_level(self._lg, level))

    def enabled(self, level: int) -> bool:
        return bool(_lib_.prd_logger_enabled(self._lg, level))

    def log(self, level: int, msg: str, **fields: Any) -> None:
        """One line: msg and fields, redacted by key at every depth and by value."""
        if not self._lg or not _lib_.prd_logger_enabled(self._lg, level):
            return
        text = json.dumps({k: _jsonable(v) for k, v in fields.items()},
                          separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()
        _lib_.prd_log_json(self._lg, level, msg.encode("utf-8", "replace"), text, len(text))

    def debug(self, msg, **f): self.log(DEBUG, msg, **f)
    def info(self, msg, **f): self.log(INFO, msg, **f)
    def warn(self, msg, **f): self.log(WARN, msg, **f)
    def error(self, msg, **f): self.log(ERROR, msg, **f)


_FORMATTER = logging.Formatter()

# What every LogRecord has: not "extra" fields.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class LogHandler(logging.Handler):
    """A logging.Handler writing records through a Logger: the message,
    the logger's name, exc_info as "exception", and every extra= field with
    its type kept (numbers stay numbers, dicts stay objects), redacted."""

    def __init__(self, logger: Optional[Logger] = None, level=logging.NOTSET):
        super().__init__(level)
        self.logger = logger or Logger(level=DEBUG)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            fields = {"logger": record.name}
            for k, v in vars(record).items():
                if k not in _STANDARD and not k.startswith("_"):
                    fields[k] = v
            if record.exc_info:
                fields["exception"] = (self.formatter or _FORMATTER).formatException(record.exc_info)
            self.logger.log(_level_of(record.levelno), record.getMessage(), **fields)
        except Exception:  # noqa: BLE001 - logging's own contract
            self.handleError(record)
