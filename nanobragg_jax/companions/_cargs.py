"""The argv pass nonBragg.c and noisify.c share (specs/nonbragg.md 2.1, specs/noisify.md 2.1).

Every token that starts with '-' is tested against every flag of the program's table, in the
table's order; a flag fires when its pattern matches and `argc > i + guard` (enough tokens follow).
The programs neither stop at the first match nor skip the values they consumed, so the last
occurrence on the line wins and a value starting with '-' is tested too.  Patterns:

    "-thick"      strstr: anywhere in the token ("-thickness" fires it)
    "=-MW"        strcmp: the token exactly
    "-detsize=8"  strstr and strlen(token) == 8
    "-stolout>7"  strstr and strlen(token) > 7

On top of C's pass we note what C does silently: a flag token that fires nothing (C ignores it),
and a value that is not a number where the flag reads one (C's atof gives 0).
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Sequence

from nanobragg_jax.args import atof, atoi, is_number


@dataclasses.dataclass(frozen=True)
class CFlag:
    """One `if (...)` of the program's argv loop.

    patterns: the pattern specs above (the flag fires when any matches, C's ||).
    guard: values that must follow (`argc > i + guard`); None = no guard at all (noisify's -psf).
    values: what the flag reads from the following tokens: "f" number, "i" integer, "s" text,
        one letter per token ("fff" for a vector), "" nothing.
    apply: apply(settings, values) with the values already converted as C converts them.
    line: the C source line of the test.
    """

    patterns: tuple
    guard: int | None
    values: str
    apply: Callable
    line: int = 0

    def matches(self, token: str) -> bool:
        return any(_match(p, token) for p in self.patterns)


def _match(spec: str, token: str) -> bool:
    if spec.startswith("="):
        return token == spec[1:]
    if "=" in spec:
        text, n = spec.split("=")
        return text in token and len(token) == int(n)
    if ">" in spec:
        text, n = spec.split(">")
        return text in token and len(token) > int(n)
    return spec in token


def flag(patterns: str, guard, values: str, apply: Callable, line: int = 0) -> CFlag:
    """Build one `CFlag` of nonBragg's or noisify's table.

    Arguments:
        patterns: space-separated pattern specs, in the forms listed in the module docstring.
        guard: values that must follow the flag (`argc > i + guard`), None for no guard.
        values: one letter per value read ("f" number, "i" integer, "s" text), "" for none.
        apply: `apply(settings, values)` with the values already converted by C's atof/atoi.
        line: the C source line of the test.
    Returns:
        The `CFlag`.
    """
    return CFlag(tuple(patterns.split()), guard, values, apply, line)


def setter(*fields: str, scale: float = 1.0, **extra):
    """apply() that stores the first value (times `scale`) into `fields` and sets `extra`."""
    def apply(s, vals):
        for f in fields:
            setattr(s, f, vals[0] * scale if isinstance(vals[0], float) else vals[0])
        for k, v in extra.items():
            setattr(s, k, v)
    return apply


def seen(name: str, inner: Callable):
    """apply() that runs `inner` and records that the flag was given (for the quirk warnings)."""
    def apply(s, vals):
        inner(s, vals)
        s.seen.add(name)
    return apply


def run_program(prog: str, argv, help_text: Callable[[], str], body: Callable[[list], int]) -> int:
    """A companion's main: --help (or no argument) prints the help; bad input -> one line
    `prog: error: ...` on stderr and status 2 (nothing written: the bodies compute every output
    before writing any); Ctrl-C -> 130."""
    import sys

    from nanobragg_jax.errors import InputError

    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        sys.stdout.write(help_text())
        return 0
    try:
        return body(argv)
    except InputError as exc:
        print(f"{prog}: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130


def console_exit(main: Callable[[], int]) -> None:
    """Run a console script's main(), flush, and exit without the interpreter's teardown (as
    `nanobragg`: skips JAX's runtime shutdown; every output is closed by then)."""
    import os
    import sys

    code = main()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing to flush to
            pass
    os._exit(code)


def switch(**fields):
    """An `apply()` that sets fixed values, whatever values the flag reads.

    Arguments:
        **fields: settings field name -> the value stored in it.
    Returns:
        The `apply(settings, values)` function.
    """
    def apply(s, vals):
        for k, v in fields.items():
            setattr(s, k, v)
    return apply


def _convert(kind: str, token: str):
    if kind == "f":
        return atof(token)
    if kind == "i":
        return atoi(token)
    return token


def scan(argv: Sequence[str], table: Sequence[CFlag], settings, program: str,
         skip: Callable[[str], bool] = lambda t: False) -> list[str]:
    """Apply C's argv pass to `settings`; returns one-line warnings about what C does silently.

    skip(token): tokens the program takes before the flag tests (noisify's input-file rule).
    """
    warnings = []
    n = len(argv)
    consumed = set()
    for i, tok in enumerate(argv):
        if skip(tok):
            continue
        if not tok.startswith("-"):
            if i not in consumed:
                warnings.append(f"'{tok}' follows no flag that takes a value: {program} ignores it")
            continue
        fired, short = [], []
        for f in table:
            if not f.matches(tok):
                continue
            guard = len(f.values) if f.guard is None else f.guard
            if f.guard is not None and n <= i + guard:
                short.append(f)  # C tests argc before the flag: too few tokens follow
                continue
            tokens = argv[i + 1:i + 1 + len(f.values)]
            vals = [_convert(k, t) for k, t in zip(f.values, tokens)]
            f.apply(settings, vals)
            fired.append(f)
        was_value = i in consumed
        if fired:  # C tests every token for flags, even one another flag took as its value
            own = max(fired, key=lambda f: max(len(p.lstrip("=").split("=")[0].split(">")[0])
                                               for p in f.patterns if _match(p, tok)))
            consumed.update(range(i + 1, i + 1 + len(own.values)))
        if was_value:
            continue
        if not fired:
            if short:
                need = max(len(f.values) if f.guard is None else f.guard for f in short)
                warnings.append(f"{tok} needs {need} value{'s' * (need != 1)} after it, and only {n - 1 - i} "
                                f"follow: {program} ignores it")
            elif not is_number(tok):
                warnings.append(f"{tok} is not a flag of {program}: ignored, as {program} does")
            continue
        for k, t in zip(own.values, argv[i + 1:i + 1 + len(own.values)]):
            if k in "fi" and not is_number(t) and not _c_number_prefix(t):
                warnings.append(f"{tok} {t}: not a number; {program} reads it as 0")
    return warnings


def _c_number_prefix(token: str) -> bool:
    """Tokens atof reads fully although our strict NUMBER pattern does not (inf, nan, hex)."""
    low = token.strip().lower().lstrip("+-")
    return low in ("inf", "infinity", "nan") or low.startswith("0x")
