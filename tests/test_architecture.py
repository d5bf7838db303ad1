"""The apps' dependencies point one way (docs/architecture.md, "Apps and their
dependencies"). An import of a higher app from a lower one, at module level or inside a
function, fails here. There is no list of exceptions: issue 14.3 mended the last ones."""

import ast
import sys
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


def test_no_app_imports_one_above_it():
    rank = {app: i for i, app in enumerate(LAYERS)}
    wrong = {
        f"{source} -> {target}": sorted(files)
        for (source, target), files in _app_imports().items()
        if rank[target] > rank[source]
    }
    assert wrong == {}, (
        "imports against the apps' direction (docs/architecture.md): move the code to the "
        f"app that owns its data, or call down instead: {wrong}"
    )


def test_the_check_sees_an_import_inside_a_function(tmp_path, monkeypatch):
    """The walk finds an upward import wherever it is written (a late import inside a
    function was how most of the old edges hid)."""
    app = tmp_path / "rooms"
    app.mkdir()
    (app / "late.py").write_text("def f():\n    from messaging.models import Message\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    for other in LAYERS:
        (tmp_path / other).mkdir(exist_ok=True)
    assert _app_imports() == {("rooms", "messaging"): {"rooms/late.py"}}
