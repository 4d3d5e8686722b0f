"""A bounded schemathesis pass against a live server: every check (response conformance, status
codes, negative data, positive data, authentication...), positive and negative data, the
coverage, fuzzing and stateful phases, with a fixed seed. It must find nothing, over at least
``MIN_CASES`` cases. ``tests/schemathesis_hooks.py`` tells schemathesis what the schema cannot
(the date formats' real dates, the answers that depend on stored rows); the README has the
same command for a server of your own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from crm.roles import Role
from crm.services import api_key_create
from crm.tokens import issue_access_token
from tests.conftest import one_user_per_role
from tests.factories import AppointmentFactory, LeadFactory, NoteFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

SEED = 1
MAX_EXAMPLES = 10  # per operation in the fuzzing phase (the coverage phase draws its own)
# The pass draws about 2,000 cases with these settings: fewer means it stopped testing.
MIN_CASES = 1500
TIMEOUT_SECONDS = 600


def command(base_url: str, key: str, token: str, report_dir: Path) -> list[str]:
    return [
        *(sys.executable, "-m", "schemathesis.cli", "run", f"{base_url}/api/schema/"),
        *("--checks", "all", "--exclude-checks", "positive_data_acceptance"),
        *("--mode", "all", "--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED)),
        *("--generation-deterministic", "--workers", "4"),
        *("-H", f"apikey: {key}", "-H", f"Authorization: Bearer {token}"),
        *("--continue-on-failure", "--no-color", "--report", "ndjson"),
        *("--report-dir", str(report_dir)),
    ]


def outcome(report: Path) -> tuple[int, list[str]]:
    """(cases run, one line per failed check or error) from schemathesis's event report."""
    cases, problems = 0, []
    for line in report.read_text().splitlines():
        event = json.loads(line)
        name, body = next(iter(event.items()))
        if name == "NonFatalError":
            problems.append(f"error: {body.get('label')}: {body.get('info', {}).get('message')}")
        if name != "ScenarioFinished":
            continue
        recorder = body["recorder"]
        cases += len(recorder.get("cases", {}))
        for case_id, checks in recorder.get("checks", {}).items():
            for check in checks:
                if check["status"] == "failure":
                    failure = check.get("failure_info", {}).get("failure", {})
                    case = recorder["cases"].get(case_id, {}).get("value", {})
                    problems.append(
                        f"{recorder['label']}: {check['name']}: {failure.get('title')} "
                        f"({failure.get('message', '').splitlines()[:2]}) "
                        f"query={case.get('query')} body={str(case.get('body'))[:300]}"
                    )
    return cases, problems


@pytest.fixture
def world():
    """A few users, leads with notes and appointments, a full-account key and a manager's token."""
    users = one_user_per_role()
    manager = users[Role.SALES_MANAGER]
    start = timezone.now() + timedelta(days=3)
    for i in range(4):
        lead = LeadFactory(by=manager, owner=manager if i % 2 else users[Role.SALESPERSON])
        NoteFactory(lead=lead, by=manager)
        begin = start + timedelta(hours=2 * i)
        AppointmentFactory(lead=lead, by=manager, start=begin, end=begin + timedelta(hours=1))
    _key, raw = api_key_create(name="Schemathesis")
    return raw, issue_access_token(manager)


def test_a_bounded_schemathesis_pass_finds_nothing(live_server, world, tmp_path):
    key, token = world
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.schemathesis_hooks",
        "PYTHONPATH": str(settings.BASE_DIR),
    }
    run = subprocess.run(
        command(live_server.url, key, token, tmp_path / "report"),
        cwd=tmp_path,  # schemathesis's own files stay out of the work tree
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    reports = list((tmp_path / "report").glob("*.ndjson"))
    assert reports, run.stdout[-3000:] + run.stderr[-3000:]
    cases, problems = outcome(reports[0])
    assert problems == [], "\n".join(problems[:30]) + "\n" + run.stdout[-2000:]
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert cases >= MIN_CASES, f"only {cases} cases ran:\n{run.stdout[-2000:]}"
