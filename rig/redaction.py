"""Secrets never reach a log (developers' guide: no PIN, password or auth header in a
log or report at any log level). websockets logs every handshake header at DEBUG —
the Basic-auth header is base64 of ``id:password`` — so each websockets endpoint of
ours gets a logger whose filter redacts credentials *at the source*, before any
handler (console, pytest's capture, allure attachments, traces) sees the record."""

from __future__ import annotations

import logging
import re

REDACTED = "[redacted]"
# "Authorization: Basic dXNlcjpwYXNz", "Proxy-Authorization: Bearer …", a header dict's
# "'authorization': 'Basic …'", in any case.
_HEADER = re.compile(
    r"(?i)\b((?:proxy-)?authorization['\"]?\s*[:=]\s*['\"]?)(?:\w+\s+)?[^\s,'\"}]+")


# The password of a database URL ("postgresql://rig:secret@db/results": everything
# between the user's colon and the last "@" before the host's "/") and of a libpq
# key=value string or URL query ("password=secret").
_URL_PASSWORD = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^:/?#@\s]*:)[^\s/?#]*@")
_KEY_PASSWORD = re.compile(r"(?i)(\bpassword=)[^&\s]*")


def redact(text: str) -> str:
    return _HEADER.sub(lambda m: m.group(1) + REDACTED, text)


def redact_url(text: str) -> str:
    """``text`` with the password of any database URL or libpq string in it redacted:
    the form in which a store's location is printed, logged or kept."""
    text = _URL_PASSWORD.sub(lambda m: m.group(1) + REDACTED + "@", text)
    return _KEY_PASSWORD.sub(lambda m: m.group(1) + REDACTED, text)


class RedactingFilter(logging.Filter):
    """Rewrites a record's message with its credentials redacted (args merged in)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, ()
        return True


def redacting_logger(name: str) -> logging.Logger:
    """The logger to hand a websockets endpoint (``logger=``): under ``name``, with
    the redacting filter on it (a logger's filters see only its own records)."""
    logger = logging.getLogger(name)
    if not any(isinstance(f, RedactingFilter) for f in logger.filters):
        logger.addFilter(RedactingFilter())
    return logger
