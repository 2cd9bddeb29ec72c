"""Readers and writers for the files nanoBragg.c reads and writes (host side, NumPy only).

Every reader raises nanobragg_jax.errors.InputError (one line naming the file) on a missing or
malformed file; every writer goes through a temp file + os.replace, so no half-written output.
specs/file-formats.md describes each format and the C quirks reproduced here; specs/dials-frame.md
the formats for processing programs (DIALS experiment lists, NXmx, miniCBF).
"""

from nanobragg_jax._lazy import lazy_face

_EXPORTS = {
    "atomic_open": "_atomic", "atomic_path": "_atomic", "atomic_write_bytes": "_atomic",
    "leftover_temp_files": "_atomic", "read_input_text": "_atomic",
    "NotRepresentable": "_cbf", "cbf_orientation": "_cbf", "minicbf_bytes": "_cbf", "read_minicbf": "_cbf",
    "write_minicbf": "_cbf",
    "c_atof": "_cnumbers", "format_g": "_cnumbers",
    "CrystFELGeometry": "_crystfel", "read_crystfel_geometry": "_crystfel",
    "BeamModel": "_expt", "CrystalModel": "_expt", "ExperimentModel": "_expt", "GoniometerModel": "_expt",
    "ImagesetModel": "_expt", "PanelModel": "_expt", "ScanModel": "_expt", "experiment_list_dict": "_expt",
    "read_expt": "_expt", "write_expt": "_expt",
    "read_fdump": "_fdump", "write_fdump": "_fdump",
    "read_float_image": "_floatimage", "write_float_image": "_floatimage",
    "IMAGE_FORMATS": "_formats", "image_format": "_formats", "numbered_template": "_formats",
    "HKLTable": "_hkl", "read_hkl": "_hkl",
    "read_mat": "_matrix",
    "NXmxWriter": "_nexus", "check_nxmx_model": "_nexus", "frame_sha256": "_nexus", "read_nxmx": "_nexus",
    "write_nxmx": "_nexus",
    "read_pgm": "_pgm", "write_pgm": "_pgm",
    "SMVImage": "_smv", "format_smv_header": "_smv", "header_overflow": "_smv",
    "parse_header_fields": "_smv", "read_smv": "_smv", "smv_bytes": "_smv", "smv_header_fields": "_smv",
    "value_of": "_smv", "value_text": "_smv", "write_smv": "_smv",
    "parse_text_columns": "_sourcefile", "read_source_file": "_sourcefile",
    "read_stol_file": "_stoltable",
}

__getattr__, __dir__, __all__ = lazy_face(__name__, _EXPORTS)
