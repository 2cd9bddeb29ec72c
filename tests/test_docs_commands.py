"""Every command in README.md and docs/*.md runs as written from the repository root (issue 11,
items 12, 13 and 16).

Each ```bash block is split into commands (`\\` continues a line); each `&&`-chained part that runs
`nanobragg` (or `rm -f`) is run with bash in a scratch folder that mirrors the repository root (symlinks), with a
`nanobragg` on PATH that runs this checkout's cli.py.  The exit code must be 0, or the N of a
trailing `# exit N` comment.  Set-up parts (venv, pip, pytest itself) are the test environment's
own and are not run; `python bench/...` and `python tools/...` must name scripts that exist
(benchmarks take minutes, they are not run here).  Python blocks that start with an import run as
written in a fresh interpreter and must print no warning.
"""

import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))
SKIPPED = re.compile(r"^(python3? -m venv|\. \.venv/bin/activate|pip install|python3? -m pytest)")
SCRIPT = re.compile(r"^python3? ((?:bench|tools)/\S+\.py)")


def _blocks(path, languages):
    text, out = path.read_text(), []
    for m in re.finditer(r"^```(\w*)\n(.*?)^```", text, re.S | re.M):
        if m.group(1) in languages:
            out.append(m.group(2))
    return out


def _commands(block):
    """(command, expected exit code) for every command line of a bash block."""
    joined = re.sub(r"\\\n\s*", " ", block)
    out = []
    for line in joined.splitlines():
        code, _, comment = line.partition("#")
        if not code.strip():
            continue
        m = re.search(r"\bexit (\d+)", comment)
        out.append((code.strip(), int(m.group(1)) if m else 0))
    return out


BASH = [(path.name, cmd, code) for path in DOCS for block in _blocks(path, ("bash", "sh"))
        for cmd, code in _commands(block)]
PYTHON = [(path.name, block) for path in DOCS for block in _blocks(path, ("python",))
          if block.lstrip().startswith(("import", "from"))]


@pytest.fixture(scope="module")
def root_mirror(tmp_path_factory):
    """A folder that looks like the repository root (symlinks), and a bin/ with `nanobragg`."""
    folder = tmp_path_factory.mktemp("root")
    for entry in ROOT.iterdir():
        if not entry.name.startswith(".") or entry.name == ".ci":
            (folder / entry.name).symlink_to(entry)
    bin_dir = tmp_path_factory.mktemp("bin")
    shim = bin_dir / "nanobragg"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{ROOT / "cli.py"}" "$@"\n')
    shim.chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    return folder, env


def test_docs_have_commands():
    assert len(BASH) >= 15 and PYTHON
    assert not [c for _, c, _ in BASH if "P1.hkl" in c.split()]  # a file that is not in the repository


@pytest.mark.parametrize("doc, command, code", BASH, ids=[f"{d}:{c[:50]}" for d, c, _ in BASH])
def test_command_runs_as_written(doc, command, code, root_mirror):
    folder, env = root_mirror
    for part in (p.strip() for p in command.split("&&")):
        if SKIPPED.match(part):
            continue
        script = SCRIPT.match(part)
        if script:
            assert (ROOT / script.group(1)).is_file(), part
            continue
        assert part.startswith(("nanobragg", "rm -f ")), f"{doc}: a command this test does not know how to run: {part}"
        r = subprocess.run(["bash", "-c", part], cwd=folder, env=env, capture_output=True, text=True,
                           timeout=600)
        assert r.returncode == code, f"{doc}: {part}\n{r.stderr[-2000:]}"
        assert "Traceback" not in r.stderr
        if "-floatfile pattern.bin" in part:  # the README's showcase: no warning at all
            assert "WARNING" not in r.stdout and "warning" not in r.stderr, r.stdout + r.stderr


@pytest.mark.parametrize("doc, code", PYTHON, ids=[d for d, _ in PYTHON])
def test_python_example_runs_without_warnings(doc, code, root_mirror):
    folder, env = root_mirror
    env = dict(env, PYTHONPATH=str(ROOT), PYTHONWARNINGS="default")
    r = subprocess.run([sys.executable, "-c", code], cwd=folder, env=env, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stderr.strip() == "", r.stderr[-2000:]
