"""The README's Deploy section, done on this machine: the documented environment
(deploy/crm.env) with a redis-server of the test's own (REDIS_URL), on a PostgreSQL run through
a PgBouncer of its own made from deploy/pgbouncer.ini (DATABASE_PGBOUNCER=1) to a database of
its own, on a SQLite run on a throwaway SQLite database;
`collectstatic`, `migrate`, a user, gunicorn with deploy/gunicorn.conf.py, Debian's nginx with
the site deploy/nginx-crm.conf (TLS with a self-signed certificate, ports and paths of the
test's own) and the worker (on RQ). A salesperson signs
in through nginx over HTTPS and gets the dashboard and its content-hashed stylesheet. Then
`make serve`, the same setup for a try-out, started and stopped as a user does.

Each replacement made in the site file must be found exactly once, so the test follows the
file as it is and fails when the file changes shape."""

from __future__ import annotations

import http.client
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.parse
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
from django.conf import settings

from tests import pgbouncer
from tests.deploy_env import ROOT, production_env
from tests.processes import free_port, interrupt, stop

NGINX = "/usr/sbin/nginx"
HOST = "crm.example.com"
PASSWORD = "a-long-deploy-password"


def manage(env: dict[str, str], *args: str) -> subprocess.Popen:
    """``manage.py <args>`` started in the background (the steps that need not wait for each
    other run side by side: the machine may have two cores)."""
    return subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finished(command: subprocess.Popen) -> str:
    said, _ = command.communicate(timeout=120)
    assert command.returncode == 0, said
    return said


def site_for_test(tmp_path: Path, app_port: int, http_port: int, tls_port: int) -> str:
    """deploy/nginx-crm.conf with this machine's ports, certificate and logs."""
    site = (ROOT / "deploy" / "nginx-crm.conf").read_text()
    replacements = {
        "server 127.0.0.1:8000 ": f"server 127.0.0.1:{app_port} ",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen [::]:80;": "",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{tls_port} ssl http2;",
        "listen [::]:443 ssl http2;": "",
        f"/etc/letsencrypt/live/{HOST}/fullchain.pem": str(tmp_path / "cert.pem"),
        f"/etc/letsencrypt/live/{HOST}/privkey.pem": str(tmp_path / "key.pem"),
        "/var/log/nginx/crm.access.log": str(tmp_path / "nginx-access.log"),
        "/var/log/nginx/crm.error.log": str(tmp_path / "nginx-error.log"),
    }
    for old, new in replacements.items():
        assert site.count(old) == 1, f"{old!r} is not once in deploy/nginx-crm.conf"
        site = site.replace(old, new)
    return site


def self_signed_certificate(folder: Path) -> None:
    """cert.pem and key.pem in ``folder``: a certificate of HOST for a day, as site_for_test
    names them."""
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "1", "-subj", f"/CN={HOST}", "-keyout", str(folder / "key.pem"),
         "-out", str(folder / "cert.pem")],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip


def nginx_conf(tmp_path: Path, site: str) -> str:
    """The parts of Debian's /etc/nginx/nginx.conf a site needs, for one unprivileged
    foreground process whose files are all in tmp_path."""
    temp = {name: tmp_path / f"nginx-{name}" for name in ("body", "proxy", "fastcgi", "uwsgi")}
    temp["scgi"] = tmp_path / "nginx-scgi"
    paths = "\n".join(f"    {name}_temp_path {path};" for name, path in temp.items())
    paths = paths.replace("body_temp_path", "client_body_temp_path")
    return f"""
daemon off;
master_process off;
pid {tmp_path / "nginx.pid"};
error_log {tmp_path / "nginx-main-error.log"};
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {tmp_path / "nginx-main-access.log"};
{paths}
{site}
}}
"""


def wait_for(port: int, process: subprocess.Popen, log: Path, seconds: float = 60) -> None:
    """Until something listens on ``port`` (the start runs collectstatic, migrate and the demo
    data first: seconds on a quiet machine, many more on a busy one)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on {port}:\n{log.read_text()}")


class Browser:
    """HTTP/1.1 to nginx on 127.0.0.1 as a browser at https://crm.example.com/ speaks it:
    cookies kept, redirects answered, not followed (their host is the real site's)."""

    def __init__(self, port: int, tls: bool = True) -> None:
        self.port, self.tls, self.cookies = port, tls, SimpleCookie()

    def request(
        self, method: str, path: str, form: dict | None = None, body: bytes | None = None, **headers
    ):
        if self.tls:
            context = ssl.create_default_context()
            context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
            connection = http.client.HTTPSConnection("127.0.0.1", self.port, context=context)
        else:
            connection = http.client.HTTPConnection("127.0.0.1", self.port)
        headers = {"Host": HOST, **headers}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={m.value}" for k, m in self.cookies.items())
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        content = response.read()
        connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            self.cookies.load(header)
            assert "; secure" in header.lower(), header  # HTTPS=1: cookies only over HTTPS
        return response, content.decode(errors="replace")


@pytest.fixture
def processes():
    started: list[subprocess.Popen] = []
    yield started
    stop(started)


@pytest.fixture
def database(tmp_path) -> str:
    """The deployment's DATABASE_URL. On a PostgreSQL run: a database of this test's own on
    the run's server, behind a PgBouncer of its own made from deploy/pgbouncer.ini (port, files
    and database replaced; a password list, as the test's role cannot read SCRAM secrets). On a
    SQLite run: a throwaway SQLite file, no PgBouncer."""
    server = os.environ.get("DATABASE_URL", "")
    if not server.startswith("postgres"):
        yield f"sqlite:///{tmp_path / 'db.sqlite3'}"
        return
    assert Path(pgbouncer.PGBOUNCER).exists(), "Debian's pgbouncer is needed"
    url = urllib.parse.urlsplit(server)._replace(path=f"/crm_deploy_{os.getpid()}").geturl()
    pgbouncer.drop_database(url)
    with pgbouncer.maintenance(url) as admin:
        admin.execute(f'CREATE DATABASE "{pgbouncer.database_name(url)}"')
    folder = Path(tempfile.mkdtemp(prefix="crm-deploy-"))  # PgBouncer may run as nobody
    port = free_port()
    bouncer = subprocess.Popen(pgbouncer.pgbouncer_command(folder, port, url))
    try:
        wait_for(port, bouncer, folder / "pgbouncer" / "pgbouncer.log")
        yield pgbouncer.through(url, port)
    finally:
        stop([bouncer])
        pgbouncer.drop_database(url)
    shutil.rmtree(folder, ignore_errors=True)


def test_the_readme_deploy_steps_serve_the_app_through_nginx(
    tmp_path, processes, redis_server, database
):
    assert Path(NGINX).exists(), "Debian's nginx is needed: apt-get install nginx"
    env = production_env(tmp_path, WEB_CONCURRENCY="2", REDIS_URL=redis_server.url)
    env["DATABASE_URL"] = database
    assert env["DATABASE_PGBOUNCER"] == "1" and env["REDIS_URL"] == redis_server.url
    if database.startswith("sqlite"):  # no PgBouncer in front
        env["DATABASE_PGBOUNCER"] = "0"

    # The README's steps: collectstatic beside migrate; once the tables are there, a user, the
    # worker (its one-shot mode: what is queued, then exit) and the deployment checks beside
    # the servers.
    collectstatic = manage(env, "collectstatic", "--noinput", "--verbosity", "0")
    finished(manage(env, "migrate", "--noinput", "--verbosity", "0"))
    user = manage(env, "create_user", "salesperson", "--role=salesperson", "--password=" + PASSWORD)
    worker = manage(env, "run_worker", "--no-reload", "--batch", "--no-startup-delay")
    finished(collectstatic)
    check = manage(env, "check", "--deploy")

    app_port, http_port, tls_port = free_port(), free_port(), free_port()
    gunicorn_log = tmp_path / "gunicorn.log"
    with gunicorn_log.open("w") as log:
        gunicorn = [str(Path(sys.executable).with_name("gunicorn")), "-c"]
        gunicorn += ["deploy/gunicorn.conf.py", "--bind", f"127.0.0.1:{app_port}"]
        processes.append(
            subprocess.Popen(gunicorn, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        )

    self_signed_certificate(tmp_path)
    conf = tmp_path / "nginx.conf"
    conf.write_text(nginx_conf(tmp_path, site_for_test(tmp_path, app_port, http_port, tls_port)))
    nginx_log = tmp_path / "nginx.out"
    with nginx_log.open("w") as log:
        processes.append(
            subprocess.Popen(
                [NGINX, "-p", str(tmp_path), "-c", str(conf)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
    wait_for(tls_port, processes[1], nginx_log)
    wait_for(app_port, processes[0], gunicorn_log)
    finished(user)

    # Plain HTTP only redirects to the HTTPS site.
    answer, _ = Browser(http_port, tls=False).request("GET", "/leads/?page=2")
    assert (answer.status, answer.headers["Location"]) == (301, f"https://{HOST}/leads/?page=2")

    browser = Browser(tls_port)
    answer, page = browser.request("GET", "/accounts/login/?secretKey=kept-out-of-logs")
    assert answer.status == 200, page
    assert answer.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    same_site = {"Referer": f"https://{HOST}/accounts/login/", "Origin": f"https://{HOST}"}

    # nginx passes the app's largest request body (read whole: a wrong password), and refuses
    # a byte more itself.
    form = {"username": "salesperson", "password": "not-the-password"}
    form["csrfmiddlewaretoken"] = token
    padding = settings.DATA_UPLOAD_MAX_MEMORY_SIZE - len(urllib.parse.urlencode(form) + "&pad=")
    form["pad"] = "x" * padding
    answer, page = browser.request("POST", "/accounts/login/", form=form, **same_site)
    assert answer.status == 200 and 'name="password"' in page, page[:500]
    form["pad"] += "x"
    answer, page = browser.request("POST", "/accounts/login/", form=form, **same_site)
    assert answer.status == 413 and "nginx" in page

    form = {"username": "salesperson", "password": PASSWORD, "csrfmiddlewaretoken": token}
    answer, page = browser.request("POST", "/accounts/login/", form=form, **same_site)
    assert (answer.status, answer.headers["Location"]) == (302, "/"), page
    assert "sessionid" in browser.cookies

    answer, page = browser.request("GET", "/")
    assert answer.status == 200, page
    assert "My day" in page and "Salesperson" in page
    css = re.search(r'href="(/static/crm/app\.[0-9a-f]{12}\.css)"', page)
    assert css, "the dashboard links no content-hashed app.css"
    answer, stylesheet = browser.request("GET", css.group(1), **{"Accept-Encoding": "gzip"})
    assert answer.status == 200
    assert answer.headers["Content-Type"].startswith("text/css")
    assert answer.headers["Content-Encoding"] == "gzip"  # collectstatic's compressed file
    assert "immutable" in answer.headers["Cache-Control"]

    # Both access logs have the requests, neither the query string with the secret.
    time.sleep(0.2)
    logs = {"nginx": tmp_path / "nginx-access.log", "gunicorn": gunicorn_log}
    for name, path in logs.items():
        text = path.read_text()
        assert "GET /accounts/login/ " in text, (name, text)
        assert "kept-out-of-logs" not in text, (name, text)
    # gunicorn's peer is nginx; the client comes from nginx's X-Real-IP.
    assert '127.0.0.1 127.0.0.1 "GET / HTTP/1.0" 200' in gunicorn_log.read_text()

    assert "Background worker started" in (started := finished(worker))
    assert "(RQ on Redis)" in started  # the periodic jobs it queued at start, run on RQ
    assert "System check identified no issues" in finished(check)


def test_make_serve_runs_the_production_setup_and_stops_with_ctrl_c(tmp_path):
    """`make serve` on a fresh database, with nothing set: DEBUG=0 (collectstatic's hashed
    names), the demo logins, gunicorn with its config and the worker; Ctrl-C stops them all."""
    port = free_port()
    left_out = {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "EMAIL_BACKEND", "DJANGO_SETTINGS_MODULE"}
    env = {k: v for k, v in os.environ.items() if k not in left_out | {"TEST_SQLITE_NAME"}}
    env |= {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "PYTHONUNBUFFERED": "1"}
    env["STATIC_ROOT"] = str(tmp_path / "static")
    bin_dir = Path(sys.executable).parent
    command = ["make", "--no-print-directory", "-o", f"{bin_dir}/.installed", "serve",
               f"PORT={port}", f"BIN={bin_dir}"]  # fmt: skip
    output = tmp_path / "serve.log"
    with output.open("w") as log:
        make = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        wait_for(port, make, output)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("GET", "/accounts/login/", headers={"Host": "127.0.0.1"})
        answer = connection.getresponse()
        page = answer.read().decode()
        assert (answer.status, answer.headers["Server"]) == (200, "gunicorn")
        assert re.search(r'href="/static/crm/app\.[0-9a-f]{12}\.css"', page), page
        # gunicorn writes its access line after the answer has gone out, and the worker says it
        # started while the server starts: both may come a moment after the page, so the
        # output is read until they are there (or 15 seconds), before Ctrl-C.
        lines = [
            f"Sign in at http://127.0.0.1:{port}/ as salesperson",
            "Background worker started",
            # deploy/gunicorn.conf.py's access log (gunicorn logs no request without it).
            '127.0.0.1 - "GET /accounts/login/ HTTP/1.1" 200',
        ]
        deadline = time.monotonic() + 15
        while not all(line in output.read_text() for line in lines) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        interrupt(make)
    time.sleep(0.5)
    with pytest.raises(ProcessLookupError):  # gunicorn, its workers and the worker are gone
        os.killpg(make.pid, 0)
    said = output.read_text()
    for line in lines:
        assert line in said
