from django.core.management.base import BaseCommand

from crm.demo import DEMO_PASSWORD, seed
from crm.roles import Role
from leads.selectors import leads_exist


class Command(BaseCommand):
    help = "Create one user per role and demo leads, notes and appointments (once)."

    def add_arguments(self, parser):
        parser.add_argument("--leads", type=int, default=60)

    def handle(self, *args, leads, **options):
        if leads_exist():
            self.stdout.write("Leads exist already; demo data not added again.")
        else:
            seed(leads=leads)
            self.stdout.write(f"Created {leads} demo leads.")
        self.stdout.write(f"Demo users (password for all: {DEMO_PASSWORD}):")
        for role in Role:
            self.stdout.write(f"  {role.value:<18} {role.label}")
        self.stdout.write(
            f"Sign in at http://127.0.0.1:8000/ as {Role.SALESPERSON.value} / {DEMO_PASSWORD}"
            f" (the admin: http://127.0.0.1:8000/admin/ as {Role.ADMINISTRATOR.value})"
        )
