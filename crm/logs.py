"""Logging helpers: keep credentials out of log lines, and say an outage now and then.

The JSON-RPC API takes its secret key in the query string (the source system's design), and a
server's request log prints whole URLs. ``RedactSecrets`` replaces the value of every
``secretKey`` parameter in a log line with ``[redacted]``; ``crm.settings.LOGGING`` puts it on
every handler, including the development server's request log.
"""

from __future__ import annotations

import logging
import re
import time

SECRET_PARAMETER = re.compile(r"(?i)((?:^|[?&\s\"'])secretKey=)[^&\s\"']*")
REDACTED = "[redacted]"


def redact(text: str) -> str:
    return SECRET_PARAMETER.sub(rf"\g<1>{REDACTED}", text)


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a bad format string: leave it to the handler
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


# --- warnings that every request would repeat -----------------------------------------------

_last_warned: dict[str, float] = {}


def warn_now_and_then(logger: logging.Logger, message: str, *args, every: float = 60) -> None:
    """``logger.warning(message, *args)``, at most once every ``every`` seconds per message:
    an outage that every request meets (Redis down) is said once a minute, not per request."""
    now = time.monotonic()
    last = _last_warned.get(message)
    if last is None or now - last >= every:
        _last_warned[message] = now
        logger.warning(message, *args)
