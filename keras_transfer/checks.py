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


def check_max_length(max_length, limit, name="max_length"):
    """Raise a ValueError naming `name` unless `max_length` fits a model's
    position limit `limit` (either may be None: nothing to check).

    Example:
    >>> check_max_length(128, 512)
    >>> check_max_length(None, 64)
    >>> check_max_length(128, 64)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: `max_length` must not exceed the model's position limit (64). Received: ...
    """
    if max_length is not None and limit is not None and max_length > limit:
        raise ValueError(
            f"`{name}` must not exceed the model's position limit ({limit}). "
            f"Received: {name}={max_length}"
        )
