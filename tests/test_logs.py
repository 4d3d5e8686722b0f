"""No JSON-RPC secretKey in the logs (crm.logs, wired into crm.settings.LOGGING)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

from django.conf import settings

from crm.logs import REDACTED, RedactSecrets, redact


def test_redact_hides_every_secret_key_value_and_keeps_the_rest():
    line = '"POST /pubapi/v1/?accountID=ab12&secretKey=s3cr3t-value&x=1 HTTP/1.1" 200 85'
    assert redact(line) == (
        f'"POST /pubapi/v1/?accountID=ab12&secretKey={REDACTED}&x=1 HTTP/1.1" 200 85'
    )
    assert redact("GET /pubapi/v1/?SECRETKEY=abc") == f"GET /pubapi/v1/?SECRETKEY={REDACTED}"
    assert redact("?secretKey=a&secretKey=b") == f"?secretKey={REDACTED}&secretKey={REDACTED}"
    assert redact("mysecretKey=kept") == "mysecretKey=kept"  # another parameter's name
    assert redact("no secrets here") == "no secrets here"


def test_the_filter_rewrites_the_record_with_its_arguments():
    record = logging.LogRecord(
        "django.server", logging.INFO, __file__, 1, '"%s" %s', ("POST /x?secretKey=abc", 200), None
    )
    assert RedactSecrets().filter(record)
    assert record.getMessage() == f'"POST /x?secretKey={REDACTED}" 200'


def test_the_servers_request_log_prints_no_secret():
    """The settings' logging, in a process of its own, as the development server logs a
    request: the line is printed, without the secret."""
    code = (
        "import django, logging; django.setup(); "
        "logging.getLogger('django.server').info("
        "'\"%s\" %s %s', 'POST /pubapi/v1/?accountID=ab12&secretKey=s3cr3t-value HTTP/1.1', "
        "200, 85)"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "crm.settings",
        "DEBUG": "1",
        "LOG_LEVEL": "INFO",
    }
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    output = done.stdout + done.stderr
    assert f"accountID=ab12&secretKey={REDACTED} HTTP/1.1" in output
    assert "s3cr3t-value" not in output
