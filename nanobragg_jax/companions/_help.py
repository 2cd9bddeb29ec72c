"""--help texts of the companion programs."""


def nonbragg_help() -> str:
    return "nonbragg: see specs/nonbragg.md\n"


def noisify_help() -> str:
    return "noisify: see specs/noisify.md\n"
