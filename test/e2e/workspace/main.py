"""Small numeric helpers."""


def square(x):
    """Return x squared."""
    return x * x

