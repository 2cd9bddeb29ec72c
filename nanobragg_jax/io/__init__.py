"""Readers and writers for the files nanoBragg.c reads and writes (host side, NumPy only).

Every reader raises nanobragg_jax.errors.InputError (one line naming the file) on a missing or
malformed file; every writer goes through a temp file + os.replace, so no half-written output.
specs/file-formats.md describes each format and the C quirks reproduced here; specs/dials-frame.md
the formats for processing programs (DIALS experiment lists, NXmx, miniCBF).
"""

from nanobragg_jax.io._atomic import atomic_open, atomic_path, atomic_write_bytes, leftover_temp_files, read_input_text
from nanobragg_jax.io._cbf import NotRepresentable, cbf_orientation, minicbf_bytes, read_minicbf, write_minicbf
from nanobragg_jax.io._cnumbers import c_atof, format_g
from nanobragg_jax.io._crystfel import CrystFELGeometry, read_crystfel_geometry
from nanobragg_jax.io._expt import (
    BeamModel,
    CrystalModel,
    ExperimentModel,
    GoniometerModel,
    ImagesetModel,
    PanelModel,
    ScanModel,
    experiment_list_dict,
    read_expt,
    write_expt,
)
from nanobragg_jax.io._fdump import read_fdump, write_fdump
from nanobragg_jax.io._formats import IMAGE_FORMATS, image_format, numbered_template
from nanobragg_jax.io._floatimage import read_float_image, write_float_image
from nanobragg_jax.io._hkl import HKLTable, read_hkl
from nanobragg_jax.io._matrix import read_mat
from nanobragg_jax.io._nexus import NXmxWriter, check_nxmx_model, frame_sha256, read_nxmx, write_nxmx
from nanobragg_jax.io._pgm import read_pgm, write_pgm
from nanobragg_jax.io._smv import (
    SMVImage,
    format_smv_header,
    header_overflow,
    parse_header_fields,
    read_smv,
    smv_bytes,
    smv_header_fields,
    value_of,
    value_text,
    write_smv,
)
from nanobragg_jax.io._sourcefile import parse_text_columns, read_source_file
from nanobragg_jax.io._stoltable import read_stol_file

__all__ = [
    "HKLTable", "read_hkl", "read_stol_file", "parse_text_columns", "read_fdump", "write_fdump", "read_mat", "read_source_file",
    "SMVImage", "read_smv", "value_of", "value_text", "format_smv_header", "header_overflow", "smv_header_fields", "smv_bytes", "write_smv",
    "parse_header_fields", "write_float_image", "read_float_image", "write_pgm", "read_pgm",
    "atomic_open", "atomic_write_bytes", "leftover_temp_files", "read_input_text", "c_atof", "format_g",
    "CrystFELGeometry", "read_crystfel_geometry",
    # formats processing programs read (DIALS experiment lists, NXmx, miniCBF)
    "BeamModel", "PanelModel", "GoniometerModel", "ScanModel", "CrystalModel", "ImagesetModel",
    "ExperimentModel", "experiment_list_dict", "read_expt", "write_expt", "NXmxWriter", "write_nxmx",
    "check_nxmx_model", "frame_sha256", "minicbf_bytes",
    "read_nxmx", "NotRepresentable", "cbf_orientation", "write_minicbf", "read_minicbf", "atomic_path",
    "IMAGE_FORMATS", "image_format", "numbered_template",
]
