"""Which image format a file name asks for (our `--out`): NeXus NXmx or miniCBF, by extension."""

from __future__ import annotations

import os
import re

from nanobragg_jax.errors import InputError

IMAGE_FORMATS = {".nxs": "nxmx", ".nx5": "nxmx", ".h5": "nxmx", ".hdf5": "nxmx", ".cbf": "cbf"}


def image_format(path, option: str = "--out") -> str:
    """"nxmx" or "cbf" for a file name by its extension (case-insensitive).

    Arguments:
        path: the file name (str or path-like).
        option: the option the name came with, for the error message.
    Returns:
        "nxmx" for .nxs, .nx5, .h5 and .hdf5; "cbf" for .cbf.
    Raises:
        InputError: any other extension (the message names `option` and the choices).
    """
    ext = os.path.splitext(os.fspath(path))[1].lower()
    try:
        return IMAGE_FORMATS[ext]
    except KeyError:
        raise InputError(f"{option} '{os.fspath(path)}': unknown image format '{ext}' (use .nxs, .nx5, .h5 "
                         "or .hdf5 for NeXus NXmx, .cbf for miniCBF)") from None


def numbered_template(path):
    """(template, number) of a file name whose last run of digits comes right before the extension,
    as dxtbx finds an image's number ("frame_0007.cbf" -> ("frame_####.cbf", 7)); a name that
    already holds '#' is its own template, numbered from 1; None when the name has no number.

    Arguments:
        path: the file name (str or path-like); its folder is kept in the template.
    Returns:
        (template str, int number), or None.
    """
    folder, name = os.path.split(os.fspath(path))
    if "#" in name:
        return os.fspath(path), 1
    m = re.match(r"^(.*?)(\d{1,12})(\.[A-Za-z0-9]+)$", name)
    if m is None:
        return None
    return os.path.join(folder, m.group(1) + "#" * len(m.group(2)) + m.group(3)), int(m.group(2))
