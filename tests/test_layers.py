"""Imports point one way: adapters -> services/selectors -> models (issue 12).

Walks every project module (crm, leads, appointments, webhooks; not migrations) with ``ast``
and collects its imports of project modules, at module level and inside functions:

- no import cycle between modules, whatever level the imports are at (each cycle is printed);
- no import of a project module inside a function, except in ``AppConfig.ready()`` (Django's
  place to connect signals), under ``if TYPE_CHECKING:``, or in ``FUNCTION_LEVEL_ALLOWED``;
- an adapter module (``api``, ``rpc``, ``views``, ``forms``, ``admin``, ``urls``, management
  commands, template tags) may import services, selectors and models; no other module imports
  an adapter (``AppConfig.ready()`` wires adapters up and may);
- an adapter other than the admin runs no query of its own: no model manager
  (``Lead.objects``) and no queryset method call (``.filter``, ``.order_by``, ``.first()``...)
  on anything, a selector's queryset included, but for the dict-shaped calls and the places
  the allow-lists ``NOT_A_QUERY`` and ``QUERY_ALLOWED`` name, each with its reason.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("crm", "leads", "appointments", "webhooks")
# Path parts (packages or modules) that make a module an adapter: it turns a wire format or a
# page into service calls, and nothing below it may depend on it.
ADAPTER_PARTS = frozenset(
    {"api", "rpc", "views", "forms", "admin", "urls", "management", "jinja", "filters"}
)
ADAPTER_SUFFIXES = ("_forms", "_views")
# (importing module, imported module): why the import stays inside a function. Empty: every
# function-level import hid a cycle or nothing, and both are gone.
FUNCTION_LEVEL_ALLOWED: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Import:
    source: str
    target: str
    line: int
    function_level: bool
    in_ready: bool  # in AppConfig.ready(): Django's place to connect signals and extensions
    type_checking: bool

    @property
    def allowed_place(self) -> bool:
        return self.in_ready or self.type_checking


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_files() -> dict[str, Path]:
    files = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.relative_to(ROOT).parts:
                continue
            files[module_name(path)] = path
    return files


MODULES = project_files()


def _is_project(name: str) -> bool:
    return name.split(".")[0] in PACKAGES


def _resolve(source: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = source.split(".") if is_package else source.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def _targets(source: str, is_package: bool, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The project modules an import statement loads (``from leads import access`` loads the
    module ``leads.access``; ``from leads.models import Lead`` loads ``leads.models``)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        module = _resolve(source, is_package, node)
        names = []
        for alias in node.names:
            submodule = f"{module}.{alias.name}"
            names.append(submodule if submodule in MODULES else module)
    found = []
    for name in names:
        if not _is_project(name):
            continue
        while name not in MODULES and "." in name:
            name = name.rsplit(".", 1)[0]
        if name != source and name not in found:
            found.append(name)
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def module_imports(name: str) -> list[Import]:
    path = MODULES[name]
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[Import] = []

    def walk(node: ast.AST, *, in_function: bool, in_ready: bool, type_checking: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                for target in _targets(name, is_package, child):
                    found.append(
                        Import(
                            source=name,
                            target=target,
                            line=child.lineno,
                            function_level=in_function,
                            in_ready=in_ready,
                            type_checking=type_checking,
                        )
                    )
                continue
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                ready = isinstance(node, ast.ClassDef) and getattr(child, "name", "") == "ready"
                walk(child, in_function=True, in_ready=in_ready or ready, type_checking=False)
            elif isinstance(child, ast.If) and _is_type_checking(child.test):
                for stmt in child.body:
                    walk_one(stmt, in_function, in_ready)
                for stmt in child.orelse:
                    walk(stmt, in_function=in_function, in_ready=in_ready, type_checking=False)
            else:
                walk(child, in_function=in_function, in_ready=in_ready, type_checking=type_checking)

    def walk_one(stmt: ast.stmt, in_function: bool, in_ready: bool) -> None:
        wrapper = ast.Module(body=[stmt], type_ignores=[])
        walk(wrapper, in_function=in_function, in_ready=in_ready, type_checking=True)

    walk(tree, in_function=False, in_ready=False, type_checking=False)
    return found


ALL_IMPORTS = [found for name in MODULES for found in module_imports(name)]


def import_graph(imports: list[Import]) -> dict[str, set[str]]:
    """Module -> the project modules it imports when it runs (``TYPE_CHECKING`` imports never
    run; function-level ones do, later, and still close a cycle)."""
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for found in imports:
        if not found.type_checking:
            graph[found.source].add(found.target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (``a -> b -> ... -> a``) for each strongly connected group of modules
    (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    found = []
    for group in groups:
        covered: set[str] = set()
        for member in group:
            if member not in covered:
                cycle = _cycle_through(graph, member, set(group))
                covered.update(cycle)
                found.append(cycle)
    return found


def _cycle_through(graph: dict[str, set[str]], start: str, group: set[str]) -> list[str]:
    """A shortest path from ``start`` back to itself, inside its group."""
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for child in sorted(graph[node] & group):
            if child == start:
                return [*paths[node], start]
            if child not in paths:
                paths[child] = [*paths[node], child]
                queue.append(child)
    raise AssertionError(f"no cycle in {sorted(group)}")


def is_adapter(name: str) -> bool:
    parts = name.split(".")[1:]
    return any(part in ADAPTER_PARTS or part.endswith(ADAPTER_SUFFIXES) for part in parts)


def _where(found: Import) -> str:
    return f"{MODULES[found.source].relative_to(ROOT)}:{found.line} imports {found.target}"


def test_the_walk_sees_every_kind_of_import():
    """The walk itself: module level, function level, ready() and TYPE_CHECKING."""
    webhooks_apps = module_imports("webhooks.apps")
    assert {(i.target, i.function_level, i.allowed_place) for i in webhooks_apps} == {
        ("leads.signals", True, True),
        ("webhooks.services", True, True),
    }
    delivery = {i.target for i in module_imports("webhooks.delivery")}
    assert {"leads.access", "webhooks.addresses", "webhooks.models"} <= delivery
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b", "c"}, "b": {"a"}, "c": {"a"}}) == [["a", "b", "a"], ["c", "a", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    assert is_adapter("leads.api.serializers") and is_adapter("leads.list_forms")
    assert is_adapter("leads.views.detail") and not is_adapter("leads.services")


def test_no_import_cycle_between_project_modules():
    found = cycles(import_graph(ALL_IMPORTS))
    assert not found, "Import cycles:\n" + "\n".join(" -> ".join(cycle) for cycle in found)


def test_no_function_level_import_of_a_project_module():
    hidden = [
        _where(found)
        for found in ALL_IMPORTS
        if found.function_level
        and not found.allowed_place
        and (found.source, found.target) not in FUNCTION_LEVEL_ALLOWED
    ]
    assert not hidden, "Import these at module level:\n" + "\n".join(hidden)


def test_the_allow_list_names_imports_that_exist():
    present = {(i.source, i.target) for i in ALL_IMPORTS if i.function_level}
    assert set(FUNCTION_LEVEL_ALLOWED) <= present


def test_only_adapters_import_adapters():
    """Services, selectors, models and the worker never import an adapter (the REST or JSON-RPC
    API, the pages, forms, admin): what two adapters share lives below both."""
    wrong = [
        _where(found)
        for found in ALL_IMPORTS
        if is_adapter(found.target)
        and not is_adapter(found.source)
        and not (found.type_checking or found.in_ready)
    ]
    assert not wrong, "Non-adapter modules importing adapters:\n" + "\n".join(wrong)


# --- adapters run no query of their own ----------------------------------------------------
#
# Every adapter reads through selectors (and ``leads.access``) and writes through services, so
# each read is written once, named, and shared: the REST and JSON-RPC APIs, lead_set, the pages
# and their forms and list forms, template tags, URLs, and management commands (the command
# line is one more wire: ``issue_token`` reads the user the API's sign-in reads).
#
# The admin is left out, by design: Django's ModelAdmin is an adapter over the ORM whose API is
# querysets (``get_queryset``, ``list_filter``, an action's ``queryset`` and the
# ``queryset.count()`` of its message). Wrapping those in selectors would hide Django's contract
# rather than a rule of ours; the admin's domain writes still call services (its actions do).
ORM_ADAPTER_PARTS = frozenset({"admin"})


def reads_through_selectors(name: str) -> bool:
    """An adapter that may run no query of its own (every adapter but the admin)."""
    return is_adapter(name) and not ORM_ADAPTER_PARTS & set(name.split(".")[1:])


def _tree(name: str) -> ast.Module:
    return ast.parse(MODULES[name].read_text(encoding="utf-8"))


def manager_uses(name: str) -> list[int]:
    """The lines where the module reaches a model's manager (``Lead.objects``, ``Lead.
    _default_manager``): where an ORM query starts."""
    return sorted(
        node.lineno
        for node in ast.walk(_tree(name))
        if isinstance(node, ast.Attribute)
        and node.attr in ("objects", "_default_manager", "_base_manager")
        and isinstance(node.value, ast.Name)
        and node.value.id[:1].isupper()
    )


def test_adapters_query_through_selectors():
    """The REST and JSON-RPC APIs, lead_set, the pages and their forms read through selectors
    (and ``leads.access``) and write through services: no model manager of their own."""
    assert reads_through_selectors("leads.api.lead_set")
    assert reads_through_selectors("leads.list_forms") and reads_through_selectors("crm.forms")
    assert reads_through_selectors("crm.management.commands.issue_token")
    assert reads_through_selectors("crm.jinja") and reads_through_selectors("crm.filters")
    assert not reads_through_selectors("leads.admin") and not reads_through_selectors("crm.admin")
    wrong = [
        f"{MODULES[name].relative_to(ROOT)}:{line}"
        for name in MODULES
        if reads_through_selectors(name)
        for line in manager_uses(name)
    ]
    assert not wrong, "Queries in adapters (read through a selector):\n" + "\n".join(wrong)


# QuerySet (and manager) methods that narrow, order, shape, run or write a query. A call of one
# in an adapter refines or runs a query a selector should have named, whatever it is called on
# (a selector's queryset, a related manager such as ``lead.files``). Left out: ``all()``, which
# on a relation a selector prefetched hands out the prefetched rows (``lead.tags.all()``), and
# slicing (``qs[a:b]``), which is paging, the adapter's business as in Django's Paginator and
# DRF's paginators (the pinned query counts catch what either would add).
QUERY_METHODS = frozenset(
    {"filter", "exclude", "get", "annotate", "alias", "aggregate", "order_by", "values",
     "values_list", "select_related", "prefetch_related", "only", "defer", "update", "delete",
     "count", "exists", "contains", "first", "last", "latest", "earliest", "in_bulk", "create",
     "get_or_create", "update_or_create", "bulk_create", "bulk_update", "raw", "extra",
     "distinct", "union", "intersection", "difference", "iterator", "select_for_update",
     "dates", "datetimes", "none"}
)  # fmt: skip
# (``reverse`` is left out: a list's ``reverse()`` looks like a query's. Sets in adapters are
# combined with ``|``, ``&`` and ``-``, not ``union``/``intersection``/``difference``, which
# would read as querysets'.)


def _is_q(node: ast.expr) -> bool:
    """``Q(...)`` or ``models.Q(...)``: a condition only a query takes."""
    func = node.func if isinstance(node, ast.Call) else None
    return (isinstance(func, ast.Name) and func.id == "Q") or (
        isinstance(func, ast.Attribute) and func.attr == "Q"
    )


# The allow-list by shape: methods that Python's own types (and Django's storages) share with
# QuerySet, and the calls of them that can only be those types', never a query's. Each call of
# one of these methods is a query unless its arguments say otherwise.
NOT_A_QUERY: dict[str, tuple[str, Callable[[ast.Call], bool]]] = {
    "get": (
        "dict.get(key[, default]), as in request.GET.get, form.cleaned_data.get, params.get: "
        "one or two positional arguments, no keywords; QuerySet.get takes lookups (keywords), "
        "Q(...) or nothing (a Q passed in a variable is missed)",
        lambda call: (
            not call.keywords
            and 1 <= len(call.args) <= 2
            and not any(_is_q(arg) for arg in call.args)
        ),
    ),
    "values": (
        "dict.values() takes no arguments; QuerySet.values() names its columns (without "
        "any, every column as dicts, it is missed)",
        lambda call: not call.args and not call.keywords,
    ),
    "update": (
        "dict.update(other) and set.update(other) take a positional mapping or iterable; "
        "QuerySet.update takes keywords only",
        lambda call: bool(call.args),
    ),
    "count": (
        "list.count(item) and str.count(sub) take what they count; QuerySet.count() nothing",
        lambda call: bool(call.args),
    ),
    "delete": (
        "Storage.delete(name) takes the file's name; QuerySet.delete() takes nothing, and "
        "Model.delete() is called with no positional argument",
        lambda call: bool(call.args),
    ),
}

# The allow-list by place: (module, the call chain as ``ast.unparse`` writes it) -> why it
# stays. Each entry must name a call that exists (test below).
QUERY_ALLOWED: dict[tuple[str, str], str] = {}


def _is_query_call(node: ast.AST) -> bool:
    if not (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in QUERY_METHODS
    ):
        return False
    _reason, not_a_query = NOT_A_QUERY.get(node.func.attr, ("", lambda call: False))
    return not not_a_query(node)


def query_chains_in(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, source) of each chain of query method calls in ``tree``, once per chain: for
    ``qs.filter(...).order_by(...)`` the whole chain, not its ``filter`` again."""
    calls = [node for node in ast.walk(tree) if _is_query_call(node)]
    inner = set()
    for call in calls:
        receiver = call.func.value
        while isinstance(receiver, (ast.Call, ast.Attribute, ast.Subscript)):
            inner.add(id(receiver))
            receiver = receiver.func if isinstance(receiver, ast.Call) else receiver.value
    return sorted((c.lineno, ast.unparse(c)) for c in calls if id(c) not in inner)


def query_chains(name: str) -> list[tuple[int, str]]:
    return query_chains_in(_tree(name))


def test_the_query_rule_tells_queries_from_dicts():
    """The rule itself, on code of both kinds."""

    def found(source: str) -> list[str]:
        tree = ast.parse(source)
        return [ast.unparse(n) for n in ast.walk(tree) if _is_query_call(n)]

    queries = [
        "selectors.lead_list(actor=a).filter(owner=u)",
        "lead.files.only('pk')",
        "qs.get(pk=1)",
        "qs.get()",
        "qs.get(Q(pk=1))",
        "qs.values('pk')",
        "qs.update(name='x')",
        "qs.count()",
        "lead.delete()",
        "lead.events.create(type='x')",
        "qs.exists()",
        "qs.first()",
    ]
    for source in queries:
        assert found(source) == [source], source
    not_queries = [
        "request.GET.get('page')",
        "form.cleaned_data.get('ordering') or '-created_at'",
        "params.get('limit', 20)",
        "payload.values()",
        "attrs.update({'class': 'x'})",
        "names.count('x')",
        "storage.delete(name)",
        "lead.tags.all()",
        "leads[:20]",
    ]
    for source in not_queries:
        assert found(source) == [], source
    chained = "x.filter(a=1).order_by('b').first()\ny = x.filter(pk__in=x.values('pk')[:9])"
    assert query_chains_in(ast.parse(chained)) == [
        (1, "x.filter(a=1).order_by('b').first()"),
        (2, "x.filter(pk__in=x.values('pk')[:9])"),
        (2, "x.values('pk')"),
    ]


def test_adapters_refine_no_query():
    """No adapter narrows, orders, shapes, runs or writes a query itself, not even one a
    selector returned: it calls a selector (or a service) that does, and maps the result."""
    wrong = [
        f"{MODULES[name].relative_to(ROOT)}:{line}: {source}"
        for name in MODULES
        if reads_through_selectors(name)
        for line, source in query_chains(name)
        if (name, source) not in QUERY_ALLOWED
    ]
    assert not wrong, "Queries in adapters (move each into a selector):\n" + "\n".join(wrong)


def test_the_query_allow_list_names_calls_that_exist():
    present = {
        (name, source)
        for name in MODULES
        if reads_through_selectors(name)
        for _line, source in query_chains(name)
    }
    stale = set(QUERY_ALLOWED) - present
    assert not stale, f"Allowed queries no longer there (drop them): {sorted(stale)}"
