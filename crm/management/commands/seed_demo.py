from django.core.management.base import BaseCommand
from django.utils.translation import ngettext

from crm.demo import DEMO_PASSWORD, demo_users, seed
from crm.roles import Role
from crm.selectors import users_exist
from leads.selectors import leads_exist


class Command(BaseCommand):
    help = "Create one user per role and demo leads, notes and appointments (once)."

    def add_arguments(self, parser):
        parser.add_argument("--leads", type=int, default=60)
        parser.add_argument(
            "--port", type=int, default=8000, help="The port the server listens on (printed)."
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Add nothing (no demo users either) to a database that has any user.",
        )

    def handle(self, *args, leads, port, if_empty, **options):
        if if_empty and users_exist():
            self.stdout.write(
                f"The database has users already: no demo data added. "
                f"Sign in at http://127.0.0.1:{port}/ as one of them."
            )
            return
        if leads_exist():
            self.stdout.write("Leads exist already; demo data not added again.")
        else:
            seed(leads=leads)
            self.stdout.write(
                ngettext("Created %(n)d demo lead.", "Created %(n)d demo leads.", leads)
                % {"n": leads}
            )
        users = demo_users()  # renames the users of an older demo
        self.stdout.write(f"Demo users (password for all: {DEMO_PASSWORD}):")
        for role in Role:
            user = users.get(role.value)
            name = f"{user.get_full_name()}, " if user and user.get_full_name() else ""
            self.stdout.write(f"  {role.value:<18} {name}{role.label}")
        address = f"http://127.0.0.1:{port}/"
        self.stdout.write(
            f"Sign in at {address} as {Role.SALESPERSON.value} / {DEMO_PASSWORD}"
            f" (the admin: {address}admin/ as {Role.ADMINISTRATOR.value})"
        )
