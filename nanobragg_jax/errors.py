"""The one error type for bad user input: the CLI turns it into one clear line and a non-zero exit."""


class InputError(ValueError):
    """A missing or malformed file, a wrong value or an unknown flag; the message names it."""
