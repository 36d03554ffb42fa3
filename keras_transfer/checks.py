"""Argument checks shared by the toolkit's public functions and classes."""


def check_rate(name, value):
    """Raise a ValueError naming `name` unless `value` is a number in [0, 1) (a dropout rate)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ValueError(f"`{name}` must be a number in [0, 1). Received: {name}={value!r}")


def check_int(name, value, minimum=1, allow_none=False):
    """Raise a ValueError naming `name` unless `value` is an int >= `minimum` (bools refused)."""
    if allow_none and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        also = " or None" if allow_none else ""
        raise ValueError(
            f"`{name}` must be an integer >= {minimum}{also}. Received: {name}={value!r}"
        )
