"""Production mode as the README documents it (deploy/crm.env), each in a process of its own
(settings are read once, from the environment): HTTPS settings, `check --deploy`, and static
files before and after `collectstatic`."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.deploy_env import ROOT, documented, production_env


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


SETTINGS = """
import django; django.setup()
from django.conf import settings as s
import json
print(json.dumps({name: getattr(s, name) for name in [
    "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD", "SECURE_PROXY_SSL_HEADER"]}))
"""


def settings_with(env: dict[str, str]) -> dict:
    done = run(env, "-c", SETTINGS)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_https_turns_on_every_https_setting_and_each_can_be_overridden(tmp_path):
    on = settings_with(production_env(tmp_path))
    assert on == {
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
    }
    finer = settings_with(
        production_env(tmp_path, SECURE_SSL_REDIRECT="0", SECURE_HSTS_SECONDS="3600")
    )
    assert (finer["SECURE_SSL_REDIRECT"], finer["SECURE_HSTS_SECONDS"]) == (False, 3600)
    assert finer["SESSION_COOKIE_SECURE"] is True
    off = settings_with(production_env(tmp_path, HTTPS="0"))
    assert not any(off.values()), off


# The login page and its assets as a browser gets them, then the deployment checks (as
# `manage.py check --deploy --fail-level WARNING` runs them), in one process.
PAGE_AND_ASSETS = """
import django, io, json, re; django.setup()
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import Client
client = Client(HTTP_HOST="crm.example.com")
page = client.get("/accounts/login/", secure=True)
assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', page.content.decode())

def checked():
    said = io.StringIO()
    try:
        call_command("check", deploy=True, fail_level="WARNING", stdout=said, stderr=said)
    except SystemCheckError as error:
        return {"passed": False, "said": said.getvalue() + str(error)}
    return {"passed": True, "said": said.getvalue()}

print(json.dumps({
    "page": page.status_code,
    "http": [client.get("/accounts/login/").status_code,
             client.get("/accounts/login/").get("Location")],
    "hsts": page.get("Strict-Transport-Security"),
    "assets": {url: client.get(url, secure=True).status_code for url in assets},
    "check": checked(),
}))
"""


def test_static_files_work_before_collectstatic_and_are_hashed_after(tmp_path):
    env = production_env(tmp_path)
    assert run(env, "manage.py", "migrate", "--noinput").returncode == 0
    before = run(env, "-c", PAGE_AND_ASSETS)
    assert before.returncode == 0, before.stderr
    answer = json.loads(before.stdout)
    assert answer["page"] == 200
    assert answer["http"] == [301, "https://crm.example.com/accounts/login/"]
    assert answer["hsts"] == "max-age=31536000; includeSubDomains; preload"
    assert "/static/crm/app.css" in answer["assets"]  # the plain name, served all the same
    assert set(answer["assets"].values()) == {200}
    check = answer["check"]
    assert not check["passed"] and "crm.W001" in check["said"] and "collectstatic" in check["said"]

    assert run(env, "manage.py", "collectstatic", "--noinput").returncode == 0
    after = json.loads(run(env, "-c", PAGE_AND_ASSETS).stdout)
    assert after["page"] == 200 and set(after["assets"].values()) == {200}
    css = [url for url in after["assets"] if url.startswith("/static/crm/app.")]
    assert css and css[0] != "/static/crm/app.css"  # content-hashed
    # The README's production environment passes the deployment checks.
    assert after["check"]["passed"], after["check"]["said"]
    assert "no issues" in after["check"]["said"]


def test_every_name_in_the_documented_environment_is_read_by_the_app_or_gunicorn():
    read = (ROOT / "crm" / "settings.py").read_text()
    read += (ROOT / "deploy" / "gunicorn.conf.py").read_text()
    names = documented()
    assert {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "EMAIL_HOST"} <= set(names)
    assert names["DEBUG"] == "0" and names["DATABASE_URL"].startswith("postgres://")
    assert [name for name in names if f'"{name}"' not in read] == []
