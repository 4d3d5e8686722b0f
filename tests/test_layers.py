"""Imports point one way: adapters -> services/selectors -> models (issue 12).

Walks every project module (crm, leads, appointments, webhooks; not migrations) with ``ast``
and collects its imports of project modules, at module level and inside functions:

- no import cycle between modules, whatever level the imports are at (each cycle is printed);
- no import of a project module inside a function, except in ``AppConfig.ready()`` (Django's
  place to connect signals), under ``if TYPE_CHECKING:``, or in ``FUNCTION_LEVEL_ALLOWED``;
- an adapter module (``api``, ``rpc``, ``views``, ``forms``, ``admin``, ``urls``, management
  commands, template tags) may import services, selectors and models; no other module imports
  an adapter (``AppConfig.ready()`` wires adapters up and may).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("crm", "leads", "appointments", "webhooks")
# Path parts (packages or modules) that make a module an adapter: it turns a wire format or a
# page into service calls, and nothing below it may depend on it.
ADAPTER_PARTS = frozenset(
    {"api", "rpc", "views", "forms", "admin", "urls", "management", "templatetags"}
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


# Adapters that read through selectors and write through services: no ORM query of their own.
# (The admin is Django's ModelAdmin, whose querysets are its API.)
QUERYING_ADAPTER_PARTS = frozenset({"api", "rpc", "views"})


def queries_itself(name: str) -> bool:
    parts = name.split(".")[1:]
    return any(p in QUERYING_ADAPTER_PARTS or p.endswith(ADAPTER_SUFFIXES) for p in parts) or (
        parts[-1:] == ["forms"]
    )


def manager_uses(name: str) -> list[int]:
    """The lines where the module reaches a model's manager (``Lead.objects``, ``Lead.
    _default_manager``): where an ORM query starts."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    return sorted(
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr in ("objects", "_default_manager", "_base_manager")
        and isinstance(node.value, ast.Name)
        and node.value.id[:1].isupper()
    )


def test_adapters_query_through_selectors():
    """The REST and JSON-RPC APIs, lead_set, the pages and their forms read through selectors
    (and ``leads.access``) and write through services: no model manager of their own."""
    assert queries_itself("leads.api.lead_set") and queries_itself("leads.list_forms")
    assert queries_itself("crm.forms") and not queries_itself("leads.admin")
    wrong = [
        f"{MODULES[name].relative_to(ROOT)}:{line}"
        for name in MODULES
        if queries_itself(name)
        for line in manager_uses(name)
    ]
    assert not wrong, "Queries in adapters (read through a selector):\n" + "\n".join(wrong)
