"""Logging helpers: keep credentials out of log lines.

The JSON-RPC API takes its secret key in the query string (the source system's design), and a
server's request log prints whole URLs. ``RedactSecrets`` replaces the value of every
``secretKey`` parameter in a log line with ``[redacted]``; ``crm.settings.LOGGING`` puts it on
every handler, including the development server's request log.
"""

from __future__ import annotations

import logging
import re

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
