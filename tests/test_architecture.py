"""The apps' dependencies point one way (docs/architecture.md, "Apps and their
dependencies"). An import of a higher app from a lower one, at module level or inside a
function, fails here, unless it is one of the known edges against the direction that
docs/architecture.md lists as debt, and then only from the files listed for it."""

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Lower first. `boztell` is the core (users, the event publisher, errors, phones); its
# wiring modules (URLs, socket routing, health, event catch-up, demo data) sit on top.
LAYERS = [
    "boztell",
    "leads",
    "rooms",
    "replies",
    "messaging",
    "inbox",
    "hours",
    "webhooks",
    "campaigns",
]
WIRING = {
    "boztell/urls.py",
    "boztell/routing.py",
    "boztell/asgi.py",
    "boztell/wsgi.py",
    "boztell/health.py",
    "boztell/views.py",
    "boztell/api.py",
    "boztell/selectors.py",
    "boztell/management/commands/demo_data.py",
}

# Edges against the direction, each with the files that make it: the debt of issue 14.3.
# A file may leave this list (mend it and delete the line); none may join it.
DEBT = {
    ("leads", "rooms"): {
        "leads/export.py",
    },
    ("leads", "messaging"): {"leads/export.py"},
}


def _app_imports():
    """(from app, to app) -> the files making that import, over every app's Python files
    (migrations and tests aside)."""
    edges = defaultdict(set)
    for app in LAYERS:
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if "/migrations/" in relative or relative in WIRING:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    target = name.split(".")[0]
                    if target in LAYERS and target != app:
                        edges[(app, target)].add(relative)
    return edges


def test_no_app_imports_one_above_it_beyond_the_listed_debt():
    rank = {app: i for i, app in enumerate(LAYERS)}
    wrong = {}
    for (source, target), files in _app_imports().items():
        if rank[target] <= rank[source]:
            continue
        extra = files - DEBT.get((source, target), set())
        if extra:
            wrong[f"{source} -> {target}"] = sorted(extra)
    assert wrong == {}, (
        "imports against the apps' direction (docs/architecture.md): move the code to the "
        f"app that owns its data, or call down instead: {wrong}"
    )


def test_the_debt_list_only_shrinks():
    edges = _app_imports()
    stale = {
        f"{s} -> {t}": sorted(files - edges.get((s, t), set()))
        for (s, t), files in DEBT.items()
        if files - edges.get((s, t), set())
    }
    assert stale == {}, f"mended: delete these from DEBT and docs/architecture.md: {stale}"
