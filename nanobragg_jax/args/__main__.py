"""`python -m nanobragg_jax.args > specs/flags.md`: the flag table as Markdown."""

from nanobragg_jax.args import flags_markdown

print(flags_markdown(), end="")
