"""Demo data: one user per role, leads, notes and appointments, all written through services."""

from __future__ import annotations

import random
import re
from contextlib import suppress
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from faker import Faker

from appointments.services import appointment_create
from crm.domain import Actor, RuleViolation
from crm.models import User
from crm.roles import Role
from crm.services import user_create
from leads.models import Source, Status
from leads.services import lead_create, lead_followup_set, note_create

DEMO_PASSWORD = "demo-password"
# The demo users' names (each signs in with its role's name: ``salesperson``, ...).
PEOPLE = {
    Role.ADMINISTRATOR: ("Alex", "Morgan"),
    Role.COMPANY_MANAGER: ("Priya", "Shah"),
    Role.SALES_MANAGER: ("Daniel", "Okafor"),
    Role.SALESPERSON: ("Sam", "Rivera"),
    Role.JR_SALESPERSON: ("Mia", "Chen"),
    Role.MARKETING_MANAGER: ("Lena", "Fischer"),
}
CITIES = [
    ("Portland", "OR"),
    ("Austin", "TX"),
    ("Denver", "CO"),
    ("Boston", "MA"),
    ("Chicago", "IL"),
    ("Seattle", "WA"),
    ("Atlanta", "GA"),
    ("Phoenix", "AZ"),
    ("Minneapolis", "MN"),
    ("Nashville", "TN"),
]
TITLES = ["Buyer", "Owner", "Director", "Office manager", "Founder", "Planner", "Engineer"]
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
        first, last = PEOPLE[role]
        user = User.objects.filter(username=role.value).first()
        if user is None:
            user = user_create(
                username=role.value,
                role=role.value,
                password=DEMO_PASSWORD,
                email=f"{role.value}@example.com",
                first_name=first,
                last_name=last,
                validate=False,
            )
        elif user.first_name == role.label and not user.last_name:  # named by an older demo
            user.first_name, user.last_name = first, last
            user.save(update_fields=["first_name", "last_name"])
        users[role.value] = user
    return users


def _domain(company: str) -> str:
    """``"Harris, Lee and Ortiz"`` -> ``"harris-lee-ortiz.example.com"`` (never a real site)."""
    words = [w for w in re.split(r"[^a-z0-9]+", company.lower()) if w and w != "and"]
    return "-".join(words[:3]) + ".example.com"


@transaction.atomic
def seed(*, leads: int = 60, seed: int = 7) -> dict[str, User]:
    rng = random.Random(seed)
    fake = Faker("en_US")
    fake.seed_instance(seed)  # the same people and companies on every run
    users = demo_users()
    manager = Actor(user=users[Role.SALES_MANAGER])
    workers = [users[Role.SALESPERSON], users[Role.JR_SALESPERSON], users[Role.SALES_MANAGER]]
    statuses = list(Status.objects.assignable().values_list("pk", flat=True))
    sources = list(Source.objects.filter(active=True).values_list("pk", flat=True))
    companies = [fake.unique.company() for _ in range(max(1, leads // 3))]
    now = timezone.now()
    for i in range(leads):
        company = companies[i % len(companies)]
        first, last = fake.first_name(), fake.last_name()
        owner = workers[i % len(workers)] if i % 7 else None
        city, state = rng.choice(CITIES)
        mailbox = re.sub(r"[^a-z.]", "", f"{first}.{last}".lower())
        lead = lead_create(
            actor=manager,
            data={
                "first_name": first,
                "last_name": last,
                "email": f"{mailbox}@{_domain(company)}",
                "phone": f"555{rng.randint(1000000, 9999999)}",
                "company": company,
                "title": rng.choice(TITLES),
                "status": rng.choice(statuses),
                "source": rng.choice(sources),
                "owner": owner,
                "assignee": rng.choice(workers) if i % 3 == 0 else None,
                "city": city,
                "state": state,
                "location": f"{city}, {state}",
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
