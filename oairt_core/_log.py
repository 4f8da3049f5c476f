"""The library's loggers: ``logging.getLogger("oairt")`` and its children, secrets redacted.

oairt adds no handler: an application sees these records once it configures
logging (``logging.basicConfig(level=logging.INFO)``). Every record of an
``oairt`` logger made here passes a filter that redacts credentials
(:func:`oairt_core.redact.redact_text`) in the message and in the traceback.

>>> log = get_logger("voice")
>>> log.name
'oairt.voice'
"""

from __future__ import annotations

import logging
import traceback

from .redact import redact_text

__all__ = ["get_logger"]


class _Redact(logging.Filter):
    """Formats the message and traceback now, redacted, so no handler sees the raw text."""

    def filter(self, record: logging.LogRecord) -> bool:
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


_FILTER = _Redact()


def get_logger(name: str) -> logging.Logger:
    """The ``oairt.<name>`` logger, with the redaction filter attached (once)."""
    log = logging.getLogger(f"oairt.{name}")
    if _FILTER not in log.filters:
        log.addFilter(_FILTER)
    return log
