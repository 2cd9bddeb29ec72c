"""Readers and writers for the files nanoBragg.c reads and writes (host side, NumPy only).

Every reader raises nanobragg_jax.errors.InputError (one line naming the file) on a missing or
malformed file; every writer goes through a temp file + os.replace, so no half-written output.
specs/file-formats.md describes each format and the C quirks reproduced here.
"""

from nanobragg_jax.io._atomic import atomic_open, atomic_write_bytes
from nanobragg_jax.io._cnumbers import c_atof, format_g
from nanobragg_jax.io._fdump import read_fdump, write_fdump
from nanobragg_jax.io._floatimage import read_float_image, write_float_image
from nanobragg_jax.io._hkl import HKLTable, read_hkl
from nanobragg_jax.io._matrix import read_mat
from nanobragg_jax.io._pgm import read_pgm, write_pgm
from nanobragg_jax.io._smv import (
    SMVImage,
    format_smv_header,
    header_overflow,
    parse_header_fields,
    read_smv,
    smv_header_fields,
    value_of,
    value_text,
    write_smv,
)
from nanobragg_jax.io._sourcefile import read_source_file

__all__ = [
    "HKLTable", "read_hkl", "read_fdump", "write_fdump", "read_mat", "read_source_file",
    "SMVImage", "read_smv", "value_of", "value_text", "format_smv_header", "header_overflow", "smv_header_fields", "write_smv",
    "parse_header_fields", "write_float_image", "read_float_image", "write_pgm", "read_pgm",
    "atomic_open", "atomic_write_bytes", "c_atof", "format_g",
]
