"""The library's loggers: ``logging.getLogger("oairt")`` and its children, secrets redacted.

oairt adds no handler: an application sees these records once it configures
logging (``logging.basicConfig(level=logging.INFO)``). Every record of an
``oairt`` logger made here passes a filter that redacts credentials
(:func:`oairt_core._redact.redact_text`) in the message and in the traceback.

The stdlib ``logging`` module is imported on the first record, not with the core: it
imports ``threading``, and the sans-IO core imports no thread machinery (a turn that
logs nothing never loads it).

>>> log = get_logger("voice")
>>> log.name
'oairt.voice'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._redact import redact_text

if TYPE_CHECKING:
    import logging

__all__ = ["get_logger"]


def _redact(record: logging.LogRecord) -> bool:
    """Formats the message and traceback now, redacted, so no handler sees the raw text."""
    import traceback

    try:
        message = record.getMessage()
    except Exception:  # a bad format string is the handler's to report
        return True
    record.msg = redact_text(message)
    record.args = None
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        # Formatters reuse exc_text when it is set: the traceback is redacted too.
        text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        record.exc_text = redact_text(text)
    return True


class _Logger:
    """A stand-in for ``logging.getLogger("oairt.<name>")`` that loads logging on first use."""

    __slots__ = ("name", "_logger")

    def __init__(self, name: str) -> None:
        self.name = name
        self._logger: logging.Logger | None = None

    def _get(self) -> logging.Logger:
        if self._logger is None:
            import logging

            logger = logging.getLogger(self.name)
            if _redact not in logger.filters:
                logger.addFilter(_redact)
            self._logger = logger
        return self._logger

    def debug(self, msg: str, *args: Any, **kw: Any) -> None:
        self._get().debug(msg, *args, **kw)

    def info(self, msg: str, *args: Any, **kw: Any) -> None:
        self._get().info(msg, *args, **kw)

    def warning(self, msg: str, *args: Any, **kw: Any) -> None:
        self._get().warning(msg, *args, **kw)

    def error(self, msg: str, *args: Any, **kw: Any) -> None:
        self._get().error(msg, *args, **kw)

    def exception(self, msg: str, *args: Any, **kw: Any) -> None:
        self._get().exception(msg, *args, **kw)


def get_logger(name: str) -> _Logger:
    """The ``oairt.<name>`` logger (loaded lazily), with the redaction filter attached."""
    return _Logger(f"oairt.{name}")
