"""A soak test of the production setup: every engine started here, a bounded mixed load for
``--minutes``, one app server and one worker killed and restarted midway, then the figures.

    .venv/bin/python bench/soak.py [--minutes 10] [--database-url postgres://...]
        [--replica-url postgres://...]

nginx (Debian's, deploy/nginx-crm.conf with ports of its own and a self-signed certificate)
-> two gunicorn servers (deploy/gunicorn.conf.py) -> PgBouncer (deploy/pgbouncer.ini with
ports and files of its own: transaction pooling, ``DATABASE_PGBOUNCER=1``) -> PostgreSQL: a
database this script creates from ``--database-url`` (default: a new ``crm_soak_<random>`` as
crm_ci on 127.0.0.1:5432; the database named must not exist) and drops at the end
(``--keep-database`` keeps it). With ``--replica-url`` (a streaming replica of that server;
the database name in it is replaced by the new database's), the app reads from the replica
(``DATABASE_REPLICA_URL``). A redis-server of its own (``REDIS_URL``) and two workers
(``manage.py run_worker``). The environment is deploy/crm.env's, with the machine's ports,
emails discarded, the rate limits raised, and webhooks allowed to a plain-http receiver on
this machine.

The load, from a fixed number of clients (``--clients``, 6) all through nginx over HTTPS:
salespeople signed in through the login form reading the leads list, a lead page and the
agenda and adding notes and changing statuses as htmx does; REST reads and writes (the API
key and a user's token from ``user/login/``); JSON-RPC batches (createLeads, updateLeads,
getLeads); lead_set upserts on a pool of emails (``match_update=1``); and, every second and
a half, one slot of one host booked by four clients at once (``--bookers``): exactly one
wins, the others get the documented conflict (HTTP 401, ``Appointment schedule exists for
this time.``). A webhook subscription (JSON-RPC ``subscribeToLeadUpdates``) sends every change
to a receiver here, which checks each signature, records each delivery id and dedupes.

Halfway, one gunicorn server (its master and workers) and one worker get SIGKILL and are
started again. Requests in flight on that server are cut: nginx answers them 502 (its own
page) and they are counted apart, as "cut"; nginx passes every later request to the other
server. After the load, the script waits (bounded) for the queue to drain, then prints per
kind of request the requests, errors (4xx, 5xx, cut, connection errors) and p50/p99; the
webhook deliveries received against the delivery rows in the database, and the duplicates
the receiver saw before deduping; double bookings in the database; the memory (RSS) of each
process after the warm-up and at the end (Redis's is shown, not judged: its data expires).
It exits non-zero when an acceptance figure fails: a server error other than a cut request,
a lost or doubled webhook after dedupe, a changed lead that no delivery named, a booking
round without exactly one winner, a double booking, a process that stopped on its own, or a
process whose memory grew past 1.2 x its start.
"""

from __future__ import annotations

import argparse
import contextlib
import hmac
import http.client
import http.server
import json
import os
import random
import re
import secrets
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from http.cookies import SimpleCookie
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CONFLICT = "Appointment schedule exists for this time."
MEMORY_GROWTH_LIMIT = 1.2
# The statuses the salespeople's status changes pick from.
STATUSES = ["contact", "potential", "tentative", "customer"]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="minutes of load (10)")
    parser.add_argument(
        "--database-url",
        default=f"postgres://crm_ci:crm_ci@127.0.0.1:5432/crm_soak_{secrets.token_hex(4)}",
        help="the database to create (it must not exist) and drop at the end",
    )
    parser.add_argument(
        "--replica-url", default="",
        help="a streaming replica of that server (its database name is replaced by the new one)",
    )  # fmt: skip
    parser.add_argument("--keep-database", action="store_true")
    parser.add_argument("--leads", type=int, default=5000, help="leads in the table at start")
    parser.add_argument("--clients", type=int, default=6, help="concurrent clients (6)")
    parser.add_argument("--bookers", type=int, default=4, help="clients booking one slot (4)")
    parser.add_argument("--drain-seconds", type=float, default=120.0)
    return parser.parse_args()


# --- the database -------------------------------------------------------------------------


def create_database(url: str) -> None:
    from tests.pgbouncer import database_name, maintenance

    name = database_name(url)
    with maintenance(url) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            raise SystemExit(f"The database {name} exists: name a new one (it is dropped after).")
        conn.execute(f'CREATE DATABASE "{name}"')


# --- the engines --------------------------------------------------------------------------


@dataclass
class Engines:
    """Every process this script started, by name, and where their files are."""

    folder: Path
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def start(self, name: str, command: list[str], env: dict | None = None) -> None:
        log = (self.folder / f"{name}.log").open("a")
        self.processes[name] = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: SIGKILL reaches its children
        )  # fmt: skip
        log.close()

    def kill(self, name: str) -> None:
        """SIGKILL to the process and every process it started, as a crash would; returns
        once none of them is left."""
        process = self.processes[name]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.killpg(process.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.01)

    def watch(self, until: float) -> None:
        """Wait until ``until`` (time.monotonic()), making sure meanwhile that every process
        runs: one that stopped ends the run (its log is kept)."""
        while time.monotonic() < until:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} stopped (exit code {process.returncode})")
            time.sleep(min(0.5, max(0.0, until - time.monotonic())))

    def stop_all(self) -> None:
        from tests.processes import stop

        stop(self.processes.values())
        for process in self.processes.values():  # children a killed master left behind
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)


def two_servers_site(folder: Path, ports: tuple[int, int], http_port: int, tls_port: int) -> str:
    """deploy/nginx-crm.conf as tests/test_deploy.py adapts it, with both app servers in its
    upstream."""
    from tests.test_deploy import site_for_test

    site = site_for_test(folder, ports[0], http_port, tls_port)
    first = f"server 127.0.0.1:{ports[0]} fail_timeout=0;"
    assert site.count(first) == 1, "the upstream of deploy/nginx-crm.conf changed shape"
    return site.replace(first, f"{first}\n    server 127.0.0.1:{ports[1]} fail_timeout=0;")


def serving(port: int, host: str, process: subprocess.Popen, seconds: float = 120) -> None:
    """Wait until the app server on ``port`` answers a page itself: gunicorn listens before
    its workers have loaded the app."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the server on {port} stopped"
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            connection.request("GET", "/accounts/login/", headers={"Host": host})
            connection.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
        finally:
            connection.close()
    raise SystemExit(f"the app server on {port} did not answer in {seconds:.0f} s")


def rss_kib(pid: int, tree: bool) -> int:
    """Resident memory of a process, and with ``tree`` of its descendants too (gunicorn's
    master and its workers, which last; not a worker's child that runs one job and exits)."""
    children: dict[int, list[int]] = defaultdict(list)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children[int(fields[1])].append(int(stat.parent.name))
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        todo += children.get(current, []) if tree else []
        try:
            status = Path(f"/proc/{current}/status").read_text()
        except OSError:
            continue
        found = re.search(r"VmRSS:\s+(\d+) kB", status)
        total += int(found.group(1)) if found else 0
    return total


# --- the webhook receiver -----------------------------------------------------------------


class Receiver(http.server.ThreadingHTTPServer):
    """Records each webhook POST whose signature holds: its delivery id (deduped) and leads."""

    daemon_threads = True

    def __init__(self, port: int) -> None:
        super().__init__(("127.0.0.1", port), ReceiverHandler)
        self.secret = secrets.token_urlsafe(24)
        self.lock = threading.Lock()
        self.seen: Counter[str] = Counter()  # delivery id -> POSTs received
        self.leads: set[int] = set()
        self.bad_signatures = 0


class ReceiverHandler(http.server.BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        from webhooks.delivery import signature

        expected = signature(self.server.secret, int(self.headers["X-CRM-Timestamp"]), body)
        with self.server.lock:
            if not hmac.compare_digest(expected, self.headers.get("X-CRM-Signature", "")):
                self.server.bad_signatures += 1
            else:
                delivery = self.headers["X-CRM-Delivery"]
                self.server.seen[delivery] += 1
                if self.server.seen[delivery] == 1:
                    self.server.leads.update(int(lead["id"]) for lead in json.loads(body)["leads"])
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


# --- the load -----------------------------------------------------------------------------


@dataclass
class Outcome:
    kind: str
    status: int  # 0: no answer (connection error)
    started: float
    ended: float
    nginx: bool = False  # an error page of nginx's own (the app server did not answer)


class Tally:
    """Every request's outcome, and the kill's time, to tell cut requests from errors."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.outcomes: list[Outcome] = []
        self.kills: list[tuple[float, float]] = []  # from SIGKILL to the last process gone
        self.restarts: list[tuple[float, float]] = []  # from SIGKILL to serving again
        self.unexpected: Counter[str] = Counter()  # refusals the load did not expect

    def note(self, refusal: str) -> None:
        with self.lock:
            self.unexpected[refusal[:300]] += 1

    def add(self, outcome: Outcome) -> None:
        with self.lock:
            self.outcomes.append(outcome)

    def restarting(self, o: Outcome) -> bool:
        """Sent between the kill and the moment the restarted server answered: it may have
        waited for the new server's workers to load the app."""
        return any(o.started <= end and start <= o.ended for start, end in self.restarts)

    def cut(self, o: Outcome) -> bool:
        """Answered by nginx because the server it was passed to died with it in flight."""
        return (
            o.nginx
            and o.status in (502, 504)
            and any(o.started <= end and start <= o.ended for start, end in self.kills)
        )


class Client:
    """One client of the site through nginx over HTTPS, as a browser at https://<HOST>/ speaks
    to it (tests/test_deploy.Browser), on one kept-alive connection: cookies kept, redirects
    answered, not followed. Each request is timed into the tally."""

    def __init__(self, port: int, host: str, tally: Tally) -> None:
        self.port, self.host, self.tally = port, host, tally
        self.cookies = SimpleCookie()
        self.connection: http.client.HTTPSConnection | None = None

    def request(self, method: str, path: str, form: dict | None = None,
                body: bytes | None = None, **headers) -> tuple[int, str]:  # fmt: skip
        if self.connection is None:
            context = ssl.create_default_context()
            context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
            self.connection = http.client.HTTPSConnection(
                "127.0.0.1", self.port, context=context, timeout=120
            )
        headers = {"Host": self.host, **headers}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={m.value}" for k, m in self.cookies.items())
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            text = response.read().decode(errors="replace")
        except (OSError, http.client.HTTPException):
            self.connection.close()
            self.connection = None
            raise
        for header in response.headers.get_all("Set-Cookie") or []:
            self.cookies.load(header)
        return response.status, text

    def call(self, kind: str, method: str, path: str, **kwargs) -> tuple[int, str]:
        started = time.monotonic()
        try:
            status, text = self.request(method, path, **kwargs)
        except (OSError, http.client.HTTPException):
            self.tally.add(Outcome(kind, 0, started, time.monotonic()))
            return 0, ""
        nginx = status >= 500 and "<center>nginx" in text
        self.tally.add(Outcome(kind, status, started, time.monotonic(), nginx))
        return status, text

    def json(self, kind: str, method: str, path: str, **kwargs):
        status, text = self.call(kind, method, path, **kwargs)
        try:
            return status, json.loads(text)
        except ValueError:
            return status, None


@dataclass
class World:
    """What the load works on: the people, their credentials and their leads."""

    host: str
    port: int
    key: str
    salespeople: list[tuple[str, str]]  # (username, password)
    own_leads: dict[str, list[tuple[int, str]]]  # username -> [(id, slug)]
    all_leads: list[tuple[int, str]]
    tokens: dict[str, str] = field(default_factory=dict)  # username -> access token


def sign_in(client: Client, who: tuple[str, str], host: str) -> None:
    status, page = client.call("web sign-in", "GET", "/accounts/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    form = {"username": who[0], "password": who[1], "csrfmiddlewaretoken": token}
    same_site = {"Referer": f"https://{host}/accounts/login/", "Origin": f"https://{host}"}
    status, page = client.call("web sign-in", "POST", "/accounts/login/", form=form, **same_site)
    assert status == 302, f"{who[0]} could not sign in: {status} {page[:300]}"


def rest_token(client: Client, key: str, who: tuple[str, str]) -> str:
    status, answer = client.json(
        "REST login", "POST", "/api/v1/user/login/",
        form={"username": who[0], "password": who[1]}, apikey=key,
    )  # fmt: skip
    assert status == 200, f"REST login of {who[0]}: {status} {answer}"
    return answer["access"]


class Load:
    """The mixed load: each client thread picks a kind of work at random, again and again."""

    def __init__(self, world: World, tally: Tally, stop: threading.Event) -> None:
        self.world, self.tally, self.stop = world, tally, stop
        self.emails = [f"upsert{i}@soak.example.com" for i in range(300)]
        self.counter = iter(range(10**9))
        self.counter_lock = threading.Lock()

    def number(self) -> int:
        with self.counter_lock:
            return next(self.counter)

    # Each kind, with its weight.
    def kinds(self):
        return [
            (self.web_pages, 30), (self.htmx_actions, 15), (self.rest_reads, 15),
            (self.rest_writes, 12), (self.rpc_batch, 10), (self.lead_set, 10),
        ]  # fmt: skip

    def run_client(self, n: int) -> None:
        rng = random.Random(n)
        who = self.world.salespeople[n % len(self.world.salespeople)]
        web = Client(self.world.port, self.world.host, self.tally)
        sign_in(web, who, self.world.host)
        api = Client(self.world.port, self.world.host, self.tally)
        kinds, weights = zip(*self.kinds(), strict=True)
        while not self.stop.is_set():
            try:
                rng.choices(kinds, weights)[0](rng, who, web, api)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:  # an answer unread
                self.tally.note(f"the load could not read an answer: {exc!r}")

    def _own(self, rng: random.Random, who) -> tuple[int, str]:
        return rng.choice(self.world.own_leads[who[0]])

    def web_pages(self, rng, who, web: Client, api: Client) -> None:
        _id, slug = self._own(rng, who)
        page = rng.choice(
            [("web leads list", "/leads/"), ("web lead page", f"/leads/{slug}/"),
             ("web agenda", "/appointments/")]
        )  # fmt: skip
        web.call(*page[:1], "GET", page[1])

    def htmx_actions(self, rng, who, web: Client, api: Client) -> None:
        _id, slug = self._own(rng, who)
        csrf = web.cookies["csrftoken"].value
        headers = {"HX-Request": "true", "X-CSRFToken": csrf,
                   "Referer": f"https://{self.world.host}/leads/{slug}/",
                   "Origin": f"https://{self.world.host}"}  # fmt: skip
        if rng.random() < 0.5:
            form = {"note": f"Soak note {self.number()}"}
            web.call("htmx add note", "POST", f"/leads/{slug}/notes/", form=form, **headers)
        else:
            form = {"status": rng.choice(STATUSES)}
            web.call("htmx status", "POST", f"/leads/{slug}/status/", form=form, **headers)

    def _rest_headers(self, who) -> dict[str, str]:
        return {"apikey": self.world.key, "Authorization": f"Bearer {self.world.tokens[who[0]]}"}

    def rest_reads(self, rng, who, web: Client, api: Client) -> None:
        _id, slug = self._own(rng, who)
        headers = self._rest_headers(who)
        path = rng.choice(
            [("REST list", "/api/v1/leads/list/?list_type=all&limit=20"),
             ("REST view lead", f"/api/v1/leads/view/lead/?slug={slug}"),
             ("REST appointments", "/api/v1/leads/appointments/list/")]
        )  # fmt: skip
        api.call(path[0], "GET", path[1], **headers)

    def rest_writes(self, rng, who, web: Client, api: Client) -> None:
        lead_id, slug = self._own(rng, who)
        headers = self._rest_headers(who)
        n = self.number()
        choice = rng.random()
        if choice < 0.3:
            form = {"first_name": "Rest", "last_name": f"Soak {n}", "status": "prospect",
                    "email": f"rest{n}@soak.example.com", "phone": f"555{n:07d}"}  # fmt: skip
            api.call("REST create lead", "POST", "/api/v1/leads/create/lead/", form=form,
                     **headers)  # fmt: skip
        elif choice < 0.6:
            form = {"slug": slug, "note": f"REST soak note {n}"}
            api.call("REST add note", "POST", "/api/v1/leads/create/leadnote/", form=form,
                     **headers)  # fmt: skip
        else:
            status, answer = api.json(
                "REST view lead", "GET", f"/api/v1/leads/view/lead/?slug={slug}", **headers
            )
            if status != 200:
                return
            lead = answer["data"]
            form = {
                "slug": slug,
                "first_name": lead["first_name"],
                "last_name": lead["last_name"],
                "email": lead["email"] or f"lead{lead_id}@soak.example.com",
                "phone": lead["phone"] or "5550000000",
                "location": f"City {n % 50}",
            }
            api.call("REST update lead", "POST", "/api/v1/leads/update/lead/", form=form,
                     **headers)  # fmt: skip

    def rpc_batch(self, rng, who, web: Client, api: Client) -> None:
        account, _, secret = self.world.key.partition(".")
        headers = {"X-Account-Id": account, "X-Secret-Key": secret,
                   "Content-Type": "application/json"}  # fmt: skip
        n = self.number()
        choice = rng.random()
        if choice < 0.4:
            objects = [{"firstName": "Rpc", "lastName": f"Soak {n}-{i}",
                        "emailAddress": f"rpc{n}.{i}@soak.example.com", "leadStatus": "open"}
                       for i in range(10)]  # fmt: skip
            method, kind = "createLeads", "RPC createLeads x10"
        elif choice < 0.8:
            picked = rng.sample(self.world.all_leads, 10)
            objects = [{"id": str(lead_id), "city": f"Rpc City {n}"} for lead_id, _ in picked]
            method, kind = "updateLeads", "RPC updateLeads x10"
        else:
            ids = [lead_id for lead_id, _ in rng.sample(self.world.all_leads, 20)]
            body = {"method": "getLeads", "params": {"where": {"id": ids}}, "id": n}
            api.call("RPC getLeads x20", "POST", "/pubapi/v1.2/",
                     body=json.dumps(body).encode(), **headers)  # fmt: skip
            return
        body = {"method": method, "params": {"objects": objects}, "id": n}
        status, answer = api.json(kind, "POST", "/pubapi/v1.2/", body=json.dumps(body).encode(),
                                  **headers)  # fmt: skip
        if status == 200 and answer and answer.get("error") is not None:
            self.tally.note(f"{kind}: {answer['error']}")

    def lead_set(self, rng, who, web: Client, api: Client) -> None:
        email = rng.choice(self.emails)
        form = {"mode": "insert", "match_update": "1", "email": email,
                "full_name": f"Upsert {email.split('@')[0]}", "city": f"Set {self.number()}",
                "tags": "soak,upsert"}  # fmt: skip
        status, answer = api.json("lead_set upsert", "POST", "/api/service/lead_set/",
                                  form=form, apikey=self.world.key)  # fmt: skip
        if status != 200 and status < 500 and status:
            self.tally.note(f"lead_set upsert: {status} {answer}")


@dataclass
class Bookings:
    rounds: int = 0
    won: int = 0
    refused: int = 0
    without_one_winner: list[str] = field(default_factory=list)


def book_one(client: Client, form: dict, headers: dict, barrier: threading.Barrier):
    barrier.wait()
    return client.json(
        "REST book (conflicting)", "POST", "/api/v1/leads/create/appointment/", form=form,
        **headers,
    )  # fmt: skip


def book_rounds(world: World, tally: Tally, stop: threading.Event, bookers: int,
                result: Bookings) -> None:  # fmt: skip
    """Every 1.5 seconds, one host's next slot booked by ``bookers`` clients at once (released
    together by a barrier), each for another lead of the host: exactly one wins, the others get
    the documented conflict."""
    clients = [Client(world.port, world.host, tally) for _ in range(bookers)]
    base = (datetime.now(UTC) + timedelta(days=40)).replace(hour=0, minute=0, second=0,
                                                          microsecond=0)  # fmt: skip
    slots: Counter[str] = Counter()
    with ThreadPoolExecutor(bookers) as pool:
        while not stop.wait(1.5):
            who = world.salespeople[result.rounds % len(world.salespeople)]
            start = base + timedelta(minutes=45 * slots[who[0]])
            slots[who[0]] += 1
            result.rounds += 1
            leads = world.own_leads[who[0]]
            forms = [
                {"slug": leads[i % len(leads)][1], "appointment_date": f"{start:%Y-%m-%d %H:%M}",
                 "appointment_to": f"{start + timedelta(minutes=30):%Y-%m-%d %H:%M}",
                 "appointment_note": "Soak booking", "appointment_status": "confirmed"}
                for i in range(bookers)
            ]  # fmt: skip
            headers = {"apikey": world.key, "Authorization": f"Bearer {world.tokens[who[0]]}"}
            book = partial(book_one, headers=headers, barrier=threading.Barrier(bookers))
            answers = list(pool.map(book, clients, forms))
            won = sum(1 for status, _ in answers if status == 201)
            refused = sum(
                1 for status, answer in answers
                if status == 401 and answer and answer["errors"].get("detail") == [CONFLICT]
            )  # fmt: skip
            result.won += won
            result.refused += refused
            cut = any(status in (0, 502, 504) for status, _ in answers)
            if (won != 1 or won + refused != len(answers)) and not cut:
                result.without_one_winner.append(
                    f"{who[0]} at {start:%Y-%m-%d %H:%M}: {[s for s, _ in answers]}"
                )


# --- the figures --------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def request_figures(tally: Tally) -> int:
    """Prints the requests per kind: how many, their outcomes, p50 and p99 of those answered
    (all of them, and "steady": those not sent while the killed server was down or starting);
    returns the server errors that were not cut."""
    by_kind: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in tally.outcomes:
        by_kind[outcome.kind].append(outcome)
    print(f"\n{'kind':28} {'requests':>8} {'2xx/3xx':>8} {'4xx':>6} {'5xx':>5} {'cut':>5} "
          f"{'conn':>5} {'p50 ms':>8} {'p99 ms':>8} {'p99 steady':>10}")  # fmt: skip
    server_errors = 0
    totals = Counter()
    for kind in sorted(by_kind):
        rows = by_kind[kind]
        counts = Counter()
        for o in rows:
            if o.status == 0:
                counts["conn"] += 1
            elif tally.cut(o):
                counts["cut"] += 1
            elif o.status >= 500:
                counts["5xx"] += 1
            elif o.status >= 400:
                counts["4xx"] += 1
            else:
                counts["ok"] += 1
        totals.update(counts)
        totals["requests"] += len(rows)
        server_errors += counts["5xx"] + counts["conn"]
        answered = [o for o in rows if o.status and not tally.cut(o)]
        times = [(o.ended - o.started) * 1000 for o in answered]
        steady = [(o.ended - o.started) * 1000 for o in answered if not tally.restarting(o)]
        print(f"{kind:28} {len(rows):8} {counts['ok']:8} {counts['4xx']:6} {counts['5xx']:5} "
              f"{counts['cut']:5} {counts['conn']:5} {percentile(times, 0.5):8.1f} "
              f"{percentile(times, 0.99):8.1f} {percentile(steady, 0.99):10.1f}")  # fmt: skip
    print(f"{'all':28} {totals['requests']:8} {totals['ok']:8} {totals['4xx']:6} "
          f"{totals['5xx']:5} {totals['cut']:5} {totals['conn']:5}")  # fmt: skip
    statuses = Counter(
        (o.kind, o.status) for o in tally.outcomes if o.status >= 400 and not tally.cut(o)
    )
    if statuses:
        print(
            "errors by kind and status: "
            + ", ".join(f"{kind} {status}: {n}" for (kind, status), n in sorted(statuses.items()))
        )
    for refusal, n in tally.unexpected.most_common(10):
        print(f"  unexpected refusal ({n}x): {refusal}")
    return server_errors


def drained(subscription_id: int) -> bool:
    from webhooks.models import Delivery, DeliveryStatus, LeadChange

    pending = Delivery.objects.filter(subscription_id=subscription_id).exclude(
        status=DeliveryStatus.DELIVERED
    )
    return not LeadChange.objects.exists() and not pending.exists()


def webhook_figures(receiver: Receiver, subscription_id: int) -> list[str]:
    """The receiver's deliveries against the delivery rows of the subscription, and the leads
    they named against the leads whose timeline has an event since it was made (every change
    of a lead is one): each delivery received once after dedupe, and every changed lead in
    one."""
    from leads.models import Event
    from webhooks.models import Delivery, DeliveryStatus, Subscription

    since = Subscription.objects.get(pk=subscription_id).created_at
    rows = dict(
        Delivery.objects.filter(subscription_id=subscription_id).values_list(
            "delivery_id", "status"
        )
    )
    expected = {str(d) for d in rows}
    seen = set(receiver.seen)
    duplicates = sum(n - 1 for n in receiver.seen.values())
    lost, unknown = expected - seen, seen - expected
    undelivered = sum(1 for status in rows.values() if status != DeliveryStatus.DELIVERED)
    changed = set(Event.objects.filter(created_at__gte=since).values_list("lead_id", flat=True))
    missed = changed - receiver.leads
    print(f"\nwebhooks: {len(expected)} deliveries expected (rows in the database), "
          f"{len(seen)} received after dedupe ({sum(receiver.seen.values())} POSTs: "
          f"{duplicates} duplicates before dedupe); {len(lost)} lost, {len(unknown)} unknown, "
          f"{undelivered} not marked delivered, {receiver.bad_signatures} bad signatures; "
          f"{len(changed)} leads changed, {len(missed)} of them in no delivery")  # fmt: skip
    if lost or unknown or undelivered or receiver.bad_signatures or missed or not expected:
        return ["webhooks: a delivery lost, unknown, undelivered or unsigned, or a change unsent"]
    return []


def double_bookings() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM appointments_appointment a JOIN appointments_appointment b "
            "ON a.host_id = b.host_id AND a.id < b.id AND a.start < b.end AND b.start < a.end "
            "WHERE a.status <> 'cancelled' AND b.status <> 'cancelled'"
        )
        return cursor.fetchone()[0]


def redis_keys(url: str) -> tuple[int, Counter[str]]:
    """How many keys Redis holds, and those that never expire by kind (their name up to the
    last colon, ids left out)."""
    import redis

    client = redis.Redis.from_url(url)
    names = list(client.scan_iter(count=1000))
    pipe = client.pipeline(transaction=False)
    for name in names:
        pipe.ttl(name)
    lasting = Counter(
        re.sub(r"[^:]*$", "", name.decode(errors="replace"))
        for name, ttl in zip(names, pipe.execute(), strict=True)
        if ttl == -1
    )
    return len(names), lasting


def memory_figures(start: dict[str, int], end: dict[str, int]) -> list[str]:
    """Each process's RSS after the warm-up and at the end. Redis's is its data, which the
    load adds to until the first entries expire (cache entries, rate-limit counters, the queue's
    finished jobs kept for minutes): it is shown, with its keys, and not judged."""
    print(f"\n{'process':16} {'start MiB':>10} {'end MiB':>10} {'end/start':>10}")
    failures = []
    for name in start:
        ratio = end[name] / start[name] if start[name] and end[name] else float("inf")
        judged = name != "redis"
        flag = "  GREW" if judged and ratio > MEMORY_GROWTH_LIMIT else ""
        flag += "" if judged else "  (data that expires: not judged)"
        print(f"{name:16} {start[name] / 1024:10.1f} {end[name] / 1024:10.1f} {ratio:10.2f}{flag}")
        if judged and ratio > MEMORY_GROWTH_LIMIT:
            failures.append(f"memory of {name} grew {ratio:.2f}x")
    return failures


def still_running(engines: Engines) -> list[str]:
    """Every process but the one killed on purpose must have lasted the run."""
    failures = []
    for name, process in engines.processes.items():
        if process.poll() is not None:
            log = engines.folder / f"{name}.log"
            log = log.read_text()[-2000:] if log.exists() else ""
            print(f"\n{name} exited with {process.returncode}:\n{log}")
            failures.append(f"{name} exited")
    return failures


# --- the run ------------------------------------------------------------------------------


def seed(leads: int):
    """The team (bench/scale.py's: the demo users and three more salespeople), ``leads`` leads
    spread over them, and an API key. Returns the team, the passwords and the key."""
    from bench import scale
    from crm.demo import DEMO_PASSWORD
    from crm.services import api_key_create

    team = scale.team()
    scale.fill(leads, team)
    _key, raw = api_key_create(name="Soak test")
    passwords = {u.username: (DEMO_PASSWORD if u.username == "salesperson" else scale.SECRET)
                 for u in team.salespeople}  # fmt: skip
    return team, passwords, raw


def interrupted(signum, frame) -> None:
    raise KeyboardInterrupt


def main() -> int:  # noqa: C901 - the run, step by step
    args = parse_args()
    from tests.pgbouncer import PGBOUNCER, database_name, drop_database, pgbouncer_command, through
    from tests.redis_server import BINARY as REDIS

    for binary in (PGBOUNCER, REDIS, "/usr/sbin/nginx"):
        if not Path(binary).exists():
            raise SystemExit(f"bench/soak.py needs {binary} (apt-get install pgbouncer "
                             "redis-server nginx)")  # fmt: skip
    create_database(args.database_url)
    folder = Path(tempfile.mkdtemp(prefix="crm-soak-"))
    engines = Engines(folder)
    stop_load = threading.Event()
    failures: list[str] = []
    finished_run = False
    signal.signal(signal.SIGTERM, interrupted)  # stopped like Ctrl-C: everything stops too
    try:
        # This process reads and checks the database directly; the servers go through PgBouncer.
        os.environ["DATABASE_URL"] = args.database_url
        from bench import scale  # noqa: F401 - django.setup() on that database
        from tests.deploy_env import production_env
        from tests.processes import free_port
        from tests.redis_server import RedisServer
        from tests.test_deploy import (
            HOST,
            NGINX,
            finished,
            manage,
            nginx_conf,
            self_signed_certificate,
            wait_for,
        )

        ports = {name: free_port() for name in
                 ("pgbouncer", "app1", "app2", "http", "https", "receiver")}  # fmt: skip
        print(f"soak: database {database_name(args.database_url)}, files in {folder}", flush=True)
        redis_server = RedisServer(folder).start()  # the tests' redis-server, without persistence
        engines.processes["redis"] = redis_server.process
        redis_url = redis_server.url
        env = production_env(
            folder,
            DATABASE_URL=through(args.database_url, ports["pgbouncer"]),
            DATABASE_PGBOUNCER="1",
            REDIS_URL=redis_url,
            WEB_CONCURRENCY="3",
            EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
            RATE_LIMIT_PER_SECOND="1000000",
            RATE_LIMIT_PER_DAY="1000000000",
            JWT_ACCESS_MINUTES=str(int(args.minutes) + 30),
            WEBHOOK_ALLOW_HTTP="1",
            WEBHOOK_ALLOW_PRIVATE="1",
            WEBHOOK_SWEEP_SECONDS="5",
            WEBHOOK_TIMEOUT_SECONDS="5",
            WEBHOOK_BACKOFF_SECONDS="2",
            WEBHOOK_BACKOFF_MAX_SECONDS="10",
            REMINDER_SWEEP_SECONDS="30",
            LOG_LEVEL="WARNING",
        )
        if args.replica_url:  # the replica's copy of the database made here
            replica = urllib.parse.urlsplit(args.replica_url)
            name = database_name(args.database_url)
            env["DATABASE_REPLICA_URL"] = urllib.parse.urlunsplit(replica._replace(path=name))
        direct = {**env, "DATABASE_URL": args.database_url, "DATABASE_PGBOUNCER": "0"}

        engines.start("pgbouncer", pgbouncer_command(folder, ports["pgbouncer"], args.database_url))
        collectstatic = manage(env, "collectstatic", "--noinput", "--verbosity", "0")
        finished(manage(direct, "migrate", "--noinput", "--verbosity", "0"))
        team, passwords, key = seed(args.leads)
        finished(collectstatic)

        gunicorn = [str(Path(sys.executable).with_name("gunicorn")), "-c"]
        gunicorn += ["deploy/gunicorn.conf.py"]
        for name in ("app1", "app2"):
            engines.start(name, [*gunicorn, "--bind", f"127.0.0.1:{ports[name]}"], env)
        worker = [sys.executable, "manage.py", "run_worker", "--no-reload"]
        for name in ("worker1", "worker2"):
            engines.start(name, worker, env)
        self_signed_certificate(folder)
        site = two_servers_site(folder, (ports["app1"], ports["app2"]), ports["http"],
                                ports["https"])  # fmt: skip
        (folder / "nginx.conf").write_text(nginx_conf(folder, site).replace(
            "worker_connections 64;", "worker_connections 512;"))  # fmt: skip
        engines.start("nginx", [NGINX, "-p", str(folder), "-c", str(folder / "nginx.conf")])
        for name in ("pgbouncer", "app1", "app2", "https"):
            process = engines.processes["nginx" if name == "https" else name]
            wait_for(ports[name], process, folder / f"{'nginx' if name == 'https' else name}.log")
        for name in ("app1", "app2"):
            serving(ports[name], HOST, engines.processes[name])

        receiver = Receiver(ports["receiver"])
        threading.Thread(target=receiver.serve_forever, daemon=True).start()

        # The people, their credentials, their leads, and the webhook subscription.
        from leads.models import Lead
        from webhooks.models import Subscription

        tally = Tally()
        salespeople = [(u.username, passwords[u.username]) for u in team.salespeople]
        own = {
            u.username: list(Lead.objects.filter(owner=u).order_by("-id")
                             .values_list("id", "slug")[:200])
            for u in team.salespeople
        }  # fmt: skip
        all_leads = list(Lead.objects.order_by("?").values_list("id", "slug")[:2000])
        world = World(HOST, ports["https"], key, salespeople, own, all_leads)
        setup = Client(ports["https"], HOST, tally)
        for who in salespeople:
            world.tokens[who[0]] = rest_token(setup, key, who)
        account, _, secret = key.partition(".")
        status, answer = setup.json(
            "RPC subscribe", "POST", "/pubapi/v1.2/",
            body=json.dumps({"method": "subscribeToLeadUpdates", "id": 1, "params": {
                "url": f"http://127.0.0.1:{ports['receiver']}/hook",
                "secret": receiver.secret}}).encode(),
            **{"X-Account-Id": account, "X-Secret-Key": secret,
               "Content-Type": "application/json"},
        )  # fmt: skip
        assert status == 200 and answer["result"]["success"] == "true", answer
        subscription_id = Subscription.objects.get().pk

        # The load, the warm-up, the kill halfway and the restart.
        seconds = args.minutes * 60
        warm_up = min(60.0, seconds * 0.15)
        load = Load(world, tally, stop_load)
        bookings = Bookings()
        threads = [threading.Thread(target=load.run_client, args=(n,), daemon=True)
                   for n in range(args.clients)]  # fmt: skip
        threads.append(threading.Thread(
            target=book_rounds, args=(world, tally, stop_load, args.bookers, bookings),
            daemon=True))  # fmt: skip
        began = time.monotonic()
        print(f"soak: {args.clients} clients and {args.bookers} bookers for {args.minutes:g} "
              f"minutes; load average {os.getloadavg()[0]:.2f}", flush=True)  # fmt: skip
        for thread in threads:
            thread.start()

        def memory() -> dict[str, int]:
            return {name: rss_kib(p.pid, tree=name.startswith("app"))
                    for name, p in engines.processes.items()}  # fmt: skip

        engines.watch(began + warm_up)
        start_memory = memory()
        start_keys = redis_keys(redis_url)
        engines.watch(began + seconds / 2)
        killed = time.monotonic()
        engines.kill("app2")
        tally.kills.append((killed, time.monotonic()))
        engines.kill("worker2")
        print(f"soak: {time.monotonic() - began:.0f} s: app2 and worker2 killed (SIGKILL)",
              flush=True)  # fmt: skip
        time.sleep(2)
        engines.start("app2", [*gunicorn, "--bind", f"127.0.0.1:{ports['app2']}"], env)
        engines.start("worker2", worker, env)
        serving(ports["app2"], HOST, engines.processes["app2"])
        restarted = time.monotonic()
        tally.restarts.append((killed, restarted))
        engines.watch(min(restarted + warm_up, began + seconds))
        start_memory.update(
            {
                "app2": rss_kib(engines.processes["app2"].pid, tree=True),
                "worker2": rss_kib(engines.processes["worker2"].pid, tree=False),
            }
        )
        print(f"soak: {time.monotonic() - began:.0f} s: app2 and worker2 restarted "
              f"({time.monotonic() - restarted:.0f} s ago)", flush=True)  # fmt: skip
        engines.watch(began + seconds)
        end_memory = memory()
        end_keys = redis_keys(redis_url)
        stop_load.set()
        for thread in threads:
            thread.join(timeout=90)
        load_seconds = time.monotonic() - began
        print(f"soak: load stopped after {load_seconds:.0f} s; load average "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)  # fmt: skip

        deadline = time.monotonic() + args.drain_seconds
        while not drained(subscription_id) and time.monotonic() < deadline:
            time.sleep(1)
        print(
            f"soak: queue drained: {drained(subscription_id)} "
            f"({args.drain_seconds - (deadline - time.monotonic()):.0f} s)",
            flush=True,
        )
        time.sleep(1)  # a POST answered just now is recorded

        server_errors = request_figures(tally)
        total = len(tally.outcomes)
        print(f"{total / load_seconds:.1f} requests/s over {load_seconds:.0f} s")
        if server_errors:
            failures.append(f"{server_errors} server or connection errors not cut by the kill")
        failures += webhook_figures(receiver, subscription_id)
        doubled = double_bookings()
        print(f"\nbookings: {bookings.rounds} rounds of {args.bookers} clients, "
              f"{bookings.won} won, "
              f"{bookings.refused} refused with the conflict, "
              f"{len(bookings.without_one_winner)} rounds without exactly one winner; "
              f"double bookings in the database: {doubled}")  # fmt: skip
        for line in bookings.without_one_winner[:5]:
            print("  " + line)
        if doubled or bookings.without_one_winner:
            failures.append("bookings: a double booking or a round without one winner")
        failures += memory_figures(start_memory, end_memory)
        drained_keys = redis_keys(redis_url)
        print("redis keys (those that never expire): " + "; ".join(
            f"{when} {total} ({lasting.total()}: "
            + ", ".join(f"{kind}* {n}" for kind, n in lasting.most_common(4)) + ")"
            for when, (total, lasting) in (("after the warm-up", start_keys),
                                           ("at the end of the load", end_keys),
                                           ("once drained", drained_keys))))  # fmt: skip
        failures += still_running(engines)
        finished_run = True
    except KeyboardInterrupt:
        failures.append("interrupted")
    except RuntimeError as exc:
        failures.append(str(exc))
    finally:
        stop_load.set()
        engines.stop_all()
        from django.db import connections

        connections.close_all()
        if args.keep_database:
            print(f"soak: kept the database {database_name(args.database_url)}")
        else:
            drop_database(args.database_url)
        if finished_run and not failures:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            print(f"soak: logs kept in {folder}")
    print("\nFAILED: " + "; ".join(failures) if failures else "\nall acceptance figures hold")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
