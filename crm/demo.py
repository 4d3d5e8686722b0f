"""Demo data: one user per role, leads, notes and appointments, all written through services."""

from __future__ import annotations

import random
from contextlib import suppress
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from appointments.services import appointment_create
from crm.domain import Actor, RuleViolation
from crm.models import User
from crm.roles import Role
from crm.services import user_create
from leads.models import Source, Status
from leads.services import lead_create, lead_followup_set, note_create

DEMO_PASSWORD = "demo-password"
TITLES = ["Buyer", "Owner", "Director", "Office manager", "Founder", "Planner", "Engineer"]
COMPANIES = [
    "Northwind Traders",
    "Harbor Roofing",
    "Blue Fern Dental",
    "Copperline Logistics",
    "Maple Street Bakery",
    "Summit Solar",
    "Riverbend Clinic",
    "Atlas Fitness",
    "Greenleaf Landscaping",
    "Brightside Realty",
    "Ironwood Builders",
    "Lakeside Events",
]
TAGS = ["hot", "newsletter", "trade show", "renewal", "VIP"]
NOTES = [
    "Asked for a quote by Friday.",
    "Prefers calls in the morning.",
    "Sent the brochure; follow up next week.",
    "Budget approved for next quarter.",
    "Wants a demo with the operations team.",
]


def demo_users() -> dict[str, User]:
    users = {}
    for role in Role:
        user = User.objects.filter(username=role.value).first()
        if user is None:
            user = user_create(
                username=role.value,
                role=role.value,
                password=DEMO_PASSWORD,
                email=f"{role.value}@example.com",
                first_name=role.label,
                validate=False,
            )
        users[role.value] = user
    return users


@transaction.atomic
def seed(*, leads: int = 60, seed: int = 7) -> dict[str, User]:
    rng = random.Random(seed)
    users = demo_users()
    manager = Actor(user=users[Role.SALES_MANAGER])
    workers = [users[Role.SALESPERSON], users[Role.JR_SALESPERSON], users[Role.SALES_MANAGER]]
    statuses = list(Status.objects.assignable().values_list("pk", flat=True))
    sources = list(Source.objects.filter(active=True).values_list("pk", flat=True))
    now = timezone.now()
    for i in range(leads):
        company = COMPANIES[i % len(COMPANIES)]
        owner = workers[i % len(workers)] if i % 7 else None
        lead = lead_create(
            actor=manager,
            data={
                "first_name": rng.choice(TITLES),
                "last_name": f"{company.split()[0]} {i + 1:02d}",
                "email": f"lead{i + 1:02d}@{company.split()[0].lower()}.example.com",
                "phone": f"555{rng.randint(1000000, 9999999)}",
                "company": company,
                "status": rng.choice(statuses),
                "source": rng.choice(sources),
                "owner": owner,
                "assignee": rng.choice(workers) if i % 3 == 0 else None,
                "location": rng.choice(["Portland", "Austin", "Denver", "Boston", ""]),
            },
            tags=rng.sample(TAGS, k=i % 3),
        )
        if i % 5 == 1:  # every fifth lead is due for a follow-up: some today, some overdue
            when = now + timedelta(hours=rng.randint(-48, 6))
            lead_followup_set(actor=manager, lead=lead, when=when.replace(second=0, microsecond=0))
        if i % 2 == 0:
            note_create(actor=manager, lead=lead, text=rng.choice(NOTES))
        if i % 4 == 0 and owner is not None:
            start = (now + timedelta(days=1 + i // 4, hours=rng.randint(0, 6))).replace(
                minute=0, second=0, microsecond=0
            )
            with suppress(RuleViolation):  # the host is already booked then
                appointment_create(
                    actor=manager,
                    lead=lead,
                    host=owner,
                    start=start,
                    end=start + timedelta(minutes=30),
                    note="Intro call",
                )
    return users
