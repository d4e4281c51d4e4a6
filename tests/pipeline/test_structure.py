"""The helpers' import structure: no cycle, and every grammar from its one home."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "pipeline"
GRAMMAR = {"SHA", "DIGEST", "DIGEST_HEX", "TAG", "MAX_TAG", "VERSION", "require_sha", "require_digest", "commit_tag"}


def module_name(path, package=None):
    parts = path.relative_to((package or PACKAGE).parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path, package=None):
    """(module imported, names) for every import outside `if TYPE_CHECKING:`."""
    root = (package or PACKAGE).parent
    tree = ast.parse(path.read_text())
    skipped = {
        id(node)
        for guard in ast.walk(tree)
        if isinstance(guard, ast.If) and isinstance(guard.test, ast.Name) and guard.test.id == "TYPE_CHECKING"
        for node in ast.walk(guard)
    }
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("pipeline"):
            names = [a.name for a in node.names]
            submodules = [
                f"{node.module}.{n}"
                for n in names
                if (root / f"{node.module}.{n}".replace(".", "/")).with_suffix(".py").exists()
            ]
            if len(submodules) < len(names):  # names from the module itself
                found.append((node.module, names))
            found += [(m, []) for m in submodules]
        elif isinstance(node, ast.Import):
            found += [(a.name, []) for a in node.names if a.name.startswith("pipeline")]
    return found


def graph(package=None):
    modules = {module_name(p, package): p for p in (package or PACKAGE).rglob("*.py")}
    edges = {name: set() for name in modules}
    for name, path in modules.items():
        for target, _ in imports(path, package):
            if target in modules and target != name:
                edges[name].add(target)
    return edges


def test_the_helpers_have_no_import_cycle():
    edges = graph()
    state, stack, cycles = {}, [], []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == "open":
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node)
    assert cycles == []


def test_grammars_are_imported_only_from_their_home():
    for path in PACKAGE.rglob("*.py"):
        for module, names in imports(path):
            if module != "pipeline.grammar":
                assert not GRAMMAR & set(names), f"{path.name} imports {GRAMMAR & set(names)} from {module}"


def test_the_structure_check_sees_a_cycle(tmp_path):
    # The check itself must be able to fail: a cycle through a function-level import.
    package = tmp_path / "pipeline"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from pipeline import b\n")
    (package / "b.py").write_text("def f():\n    from pipeline.a import x\n")
    edges = graph(package)
    assert edges["pipeline.a"] == {"pipeline.b"}
    assert edges["pipeline.b"] == {"pipeline.a"}
