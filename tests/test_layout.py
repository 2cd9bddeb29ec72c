"""The package's shape: imports go one way along the pipeline, packages meet only through their
public faces, and the fast paths import no more than they need."""

import ast
import pathlib
import subprocess
import sys

import pytest

PKG = pathlib.Path(__file__).resolve().parents[1] / "nanobragg_jax"
CORE = {"constants", "errors", "layout", "panels", "vectors", "_lazy"}

# What each part of the package may import (besides itself and the core modules).  The pipeline
# runs args -> setup -> render; render never reaches back to the command line, the set-up or I/O.
ALLOWED = {
    "core": set(),
    "io": set(),
    "args": {"io"},
    "noise": set(),
    "render": set(),
    "outputs": {"io"},
    "setup": {"args", "io", "noise", "render"},
    "programs": {"io", "setup", "render", "background"},
    "background": {"render"},
    "response": {"noise", "io"},
    "companions": {"args", "io", "setup", "render", "background", "response", "noise", "outputs",
                   "programs"},
    "diagnostics": {"io", "render", "setup"},
    "datasets": {"io", "args", "setup", "render", "outputs", "noise", "programs", "api", "companions"},
    "api": {"args", "setup", "render", "programs", "layout", "io", "outputs", "noise", "background",
            "response"},
    "cli": {"args", "setup", "render", "programs", "io", "outputs", "noise", "diagnostics", "datasets",
            "api", "companions"},
}


def _part(module: str) -> str:
    """'nanobragg_jax.setup._build' -> 'setup'; core modules -> 'core'."""
    parts = module.split(".")
    if module == "cli":
        return "cli"
    if len(parts) < 2:
        return "root"
    return "core" if parts[1] in CORE else parts[1]


def _modules():
    if (PKG.parent / "cli.py").exists():
        yield "cli", PKG.parent / "cli.py"  # the top-level command line: public faces only
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG.parent).with_suffix("")
        name = ".".join(rel.parts)
        if name.endswith(".__init__"):
            name = name[: -len(".__init__")]
        yield name, path


def _imports(name, path):
    """(imported module, imported names) for every import in the file, function bodies included."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            yield module, [a.name for a in node.names]


def _violations():
    bad = []
    for name, path in _modules():
        src = _part(name)
        if src == "root":
            continue
        for module, names in _imports(name, path):
            if not module.startswith("nanobragg_jax"):
                continue
            targets = [module] + [f"{module}.{n}" for n in names if (PKG.parent / (module + "." + n).replace(".", "/")).with_suffix(".py").exists() or (PKG.parent / (module + "." + n).replace(".", "/")).is_dir()]
            dst = _part(targets[-1] if len(targets) > 1 else module)
            if dst in ("root",) or dst == src:
                continue
            if dst != "core" and dst not in ALLOWED[src]:
                bad.append(f"{name} imports {module} ({src} -> {dst})")
            # another package's private module, or a private name from another package
            if any(p.startswith("_") and p != "__init__" for p in module.split(".")[2:]):
                bad.append(f"{name} imports the private module {module}")
            bad += [f"{name} imports the private name {module}.{n}" for n in names
                    if n.startswith("_") and dst != "core"]
    return bad


def test_imports_follow_the_pipeline_and_use_public_faces():
    assert _violations() == []


def test_the_checker_sees_a_wrong_import(tmp_path, monkeypatch):
    """The rule above can fail: a render module importing the set-up is reported."""
    fake = tmp_path / "nanobragg_jax" / "render"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "_x.py").write_text("def f():\n    from nanobragg_jax.setup._build import build_experiment\n")
    monkeypatch.setattr(sys.modules[__name__], "PKG", tmp_path / "nanobragg_jax")
    found = _violations()
    assert any("render -> setup" in v for v in found)
    assert any("private module nanobragg_jax.setup._build" in v for v in found)


@pytest.mark.parametrize("module, forbidden", [
    ("nanobragg_jax", "jax"),
    ("nanobragg_jax.args", "jax"),
    ("nanobragg_jax.setup", "equinox"),
    ("nanobragg_jax.programs", "equinox"),
])
def test_fast_paths_import_little(module, forbidden):
    code = (f"import sys, {module}; "
            f"assert {forbidden!r} not in sys.modules, '{module} imported {forbidden}'")
    subprocess.run([sys.executable, "-c", code], check=True)
