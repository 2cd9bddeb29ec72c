"""Every command in README.md and docs/*.md runs as written from the repository root (issue 11,
items 12, 13 and 16).

Each ```bash block is split into commands (`\\` continues a line); each `&&`-chained part that runs
`nanobragg`, `nonbragg`, `noisify` (or `rm -f`) is run with bash in a scratch folder that mirrors the
repository root (symlinks), with those programs on PATH running this checkout.  The exit code must
be 0, or the N of a trailing `# exit N` comment.  A command with a trailing `# not run ...: REASON`
comment (long sweeps, the DIALS walkthrough that tests/test_dials.py runs) and a pattern with
`<placeholders>` are skipped with their reason.  Set-up parts (venv, pip, pytest itself, `export`)
are the test environment's own and are not run; `python bench/...` and `python tools/...` must name scripts that exist
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
SKIPPED = re.compile(r"^(python3? -m venv|\. \.venv/bin/activate|pip install|python3? -m pytest|export )")
PLACEHOLDER = re.compile(r"<[a-z][a-z ]*>")
COMPANIONS = {"nonbragg": "nonbragg_entry_point", "noisify": "noisify_entry_point"}
SCRIPT = re.compile(r"^python3? ((?:bench|tools)/\S+\.py)")


def _blocks(path, languages):
    text, out = path.read_text(), []
    for m in re.finditer(r"^```(\w*)\n(.*?)^```", text, re.S | re.M):
        if m.group(1) in languages:
            out.append(m.group(2))
    return out


def _commands(block):
    """(command, expected exit code or the reason it is not run) for every command of a bash block.
    A comment starts at a `#` that follows a blank (a template's `#####` is not one)."""
    joined = re.sub(r"\\\n\s*", " ", block)
    out = []
    for line in joined.splitlines():
        c = re.search(r"(?:^|\s)#(?=\s|$)", line)
        code, comment = (line[:c.start()], line[c.end():]) if c else (line, "")
        if not code.strip():
            continue
        m = re.search(r"\bexit (\d+)", comment)
        skip = re.search(r"\bnot run[^:]*: (.*)", comment)
        if skip:
            out.append((code.strip(), skip.group(1).strip()))
        elif PLACEHOLDER.search(code):
            out.append((code.strip(), "a pattern: <...> stands for the user's own flags"))
        else:
            out.append((code.strip(), int(m.group(1)) if m else 0))
    return out


def _bash_commands():
    """Every bash command of the docs; the commands after one that is not run in the same block
    (they use its files) are not run either."""
    out = []
    for path in DOCS:
        for block in _blocks(path, ("bash", "sh")):
            reason = None
            for cmd, code in _commands(block):
                reason = code if isinstance(code, str) and reason is None else reason
                out.append((path.name, cmd, code if reason is None else
                            code if isinstance(code, str) else f"uses the output of a command not run ({reason})"))
    return out


BASH = _bash_commands()
PYTHON = [(path.name, block) for path in DOCS for block in _blocks(path, ("python",))
          if block.lstrip().startswith(("import", "from"))]


@pytest.fixture(scope="module")
def root_mirror(tmp_path_factory):
    """A folder that looks like the repository root (symlinks), and a bin/ with `nanobragg`,
    `nonbragg` and `noisify` running this checkout."""
    folder = tmp_path_factory.mktemp("root")
    for entry in ROOT.iterdir():
        if not entry.name.startswith(".") or entry.name == ".ci":
            (folder / entry.name).symlink_to(entry)
    bin_dir = tmp_path_factory.mktemp("bin")
    shim = bin_dir / "nanobragg"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{ROOT / "cli.py"}" "$@"\n')
    shim.chmod(0o755)
    for name, entry in COMPANIONS.items():
        shim = bin_dir / name
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -c "from nanobragg_jax.companions import '
                        f'{entry} as m; m()" "$@"\n')
        shim.chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
               PYTHONPATH=os.pathsep.join([str(ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    return folder, env


def test_docs_have_commands():
    assert len(BASH) >= 15 and PYTHON
    assert not [c for _, c, _ in BASH if "P1.hkl" in c.split()]  # a file that is not in the repository


@pytest.mark.parametrize("doc, command, code", BASH, ids=[f"{d}:{c[:50]}" for d, c, _ in BASH])
def test_command_runs_as_written(doc, command, code, root_mirror):
    if isinstance(code, str):
        pytest.skip(code)
    folder, env = root_mirror
    for part in (p.strip() for p in command.split("&&")):
        if SKIPPED.match(part):
            continue
        script = SCRIPT.match(part)
        if script:
            assert (ROOT / script.group(1)).is_file(), part
            continue
        assert part.startswith(("nanobragg", "nonbragg", "noisify", "rm -f ")), f"{doc}: a command this test does not know how to run: {part}"
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
    (folder / "Fdump.bin").unlink(missing_ok=True)  # a dump left by another example is C's F1 warning
    r = subprocess.run([sys.executable, "-c", code], cwd=folder, env=env, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stderr.strip() == "", r.stderr[-2000:]
