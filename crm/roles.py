"""Roles of SPEC §3 and what each one may do, as plain data.

Object-level decisions (may this user see or change that lead?) live in ``leads.access``;
this module only answers questions about a role.
"""

from django.db import models


class Role(models.TextChoices):
    ADMINISTRATOR = "administrator", "Administrator"
    COMPANY_MANAGER = "company_manager", "Company Manager"
    SALES_MANAGER = "sales_manager", "Sales Manager"
    MARKETING_MANAGER = "marketing_manager", "Marketing Manager"
    SALESPERSON = "salesperson", "Salesperson"
    JR_SALESPERSON = "jr_salesperson", "Jr. Salesperson"


# Roles that see every lead.
SEES_ALL = frozenset(
    {Role.ADMINISTRATOR, Role.COMPANY_MANAGER, Role.SALES_MANAGER, Role.MARKETING_MANAGER}
)
# Roles that edit every lead's fields (owner and assignee aside, see GIVES_LEADS).
EDITS_ALL = SEES_ALL
# Roles that give a lead to someone else (owner or assignee).
GIVES_LEADS = frozenset({Role.ADMINISTRATOR, Role.COMPANY_MANAGER, Role.SALES_MANAGER})
# Roles that claim an unowned or unassigned lead for themselves (and release their own).
CLAIMS_OWN = frozenset({Role.SALESPERSON, Role.JR_SALESPERSON})
# Roles that delete any lead; a salesperson deletes the leads it owns.
DELETES_ALL = GIVES_LEADS
DELETES_OWNED = frozenset({Role.SALESPERSON})
# Roles that write notes and appointments on every lead (and delete others' notes, change
# others' appointments). Marketing managers only read them.
MANAGES_ACTIVITY = GIVES_LEADS
READS_ONLY_ACTIVITY = frozenset({Role.MARKETING_MANAGER})
# Salespeople also see the pool of leads nobody owns.
SEES_POOL = frozenset({Role.SALESPERSON})
# Roles that export and erase a lead's personal data.
HANDLES_PERSONAL_DATA = frozenset({Role.ADMINISTRATOR, Role.COMPANY_MANAGER})
