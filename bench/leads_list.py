"""Server time of the leads list on a large table.

    .venv/bin/python bench/leads_list.py [--leads 100000] [--runs 15]

Fills a scratch database (SQLite ``bench/bench.sqlite3`` unless ``DATABASE_URL`` names
another, e.g. PostgreSQL) with ``--leads`` leads once, then times the web app's leads list in
process (request in, response out: the server's time, no network) for the cases a salesperson
and a manager hit, and prints the median and worst of ``--runs`` requests each, with the
number of queries.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
os.environ.setdefault("DATABASE_URL", f"sqlite:///{ROOT / 'bench' / 'bench.sqlite3'}")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from crm.demo import demo_users  # noqa: E402
from crm.roles import Role  # noqa: E402
from leads.models import Lead, Source, Status  # noqa: E402

FIRST = ["Avery", "Blake", "Casey", "Devon", "Emery", "Finley", "Harper", "Jordan", "Kai", "Logan"]
LAST = ["Nguyen", "Smith", "Garcia", "Okafor", "Kowalski", "Haddad", "Silva", "Tanaka", "Berg"]


def fill(total: int) -> None:
    have = Lead.objects.count()
    if have >= total:
        return
    users = demo_users()
    owners = [users[Role.SALESPERSON], users[Role.JR_SALESPERSON], users[Role.SALES_MANAGER], None]
    statuses = list(Status.objects.exclude(pk="deleted").values_list("pk", flat=True))
    sources = list(Source.objects.values_list("pk", flat=True))
    now = timezone.now()
    batch = []
    for i in range(have, total):
        batch.append(
            Lead(
                first_name=FIRST[i % len(FIRST)],
                last_name=f"{LAST[i % len(LAST)]} {i}",
                email=f"lead{i}@example{i % 97}.com",
                phone=f"555{i:07d}",
                company=f"Company {i % 5000}",
                status_id=statuses[i % len(statuses)],
                source_id=sources[i % len(sources)],
                owner=owners[i % len(owners)],
                assignee=owners[(i // 3) % len(owners)],
                created_at=now - timezone.timedelta(minutes=total - i),
                updated_at=now,
            )
        )
        if len(batch) == 5000:
            Lead.objects.bulk_create(batch)
            batch = []
    Lead.objects.bulk_create(batch)


def measure(client: Client, url: str, runs: int) -> tuple[float, float, int]:
    client.get(url)  # warm caches and connections
    times = []
    queries = 0
    for _ in range(runs):
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
        queries = len(captured)
    return statistics.median(times), max(times), queries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    fill(args.leads)
    # Planner statistics, as a deployment keeps them (PostgreSQL's autovacuum does it by
    # itself; on SQLite, `manage.py optimize_db`): without them SQLite merges the three
    # visibility indexes and sorts every visible lead instead of walking the date index.
    call_command("optimize_db", verbosity=0)
    users = demo_users()
    print(
        f"{connection.vendor}: {Lead.objects.count():,} leads "
        f"(filled in {time.perf_counter() - started:.1f} s)"
    )
    total = Lead.objects.count()
    deep = Lead.objects.order_by("-created_at", "-id").values_list("created_at", "id")[total // 2]
    from crm.pagination import _encode

    cursor = _encode(deep[0], deep[1])
    cases = [
        ("first page", "/leads/"),
        (f"page {total // 100:,} (halfway)", f"/leads/?after={cursor}"),
        ("status filter", "/leads/?status=customer"),
        ("sorted by name", "/leads/?ordering=last_name"),
        ("search, many matches", "/leads/?search=Tanaka"),
        ("search, one match", f"/leads/?search=lead{total // 3}@"),
        ("owned by me", "/leads/?list_type=owned"),
        ("dashboard", "/"),
        ("pipeline board", "/pipeline/"),
    ]
    print(f"{'who':<14} {'case':<40} {'median ms':>10} {'worst ms':>9} {'queries':>8}")
    for role in (Role.SALES_MANAGER, Role.SALESPERSON):
        client = Client()
        client.force_login(users[role])
        for name, url in cases:
            median, worst, queries = measure(client, url, args.runs)
            print(f"{role:<14} {name:<40} {median:>10.1f} {worst:>9.1f} {queries:>8}")


if __name__ == "__main__":
    main()
