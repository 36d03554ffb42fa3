"""The toolkit's version (written into exported folders)."""

__version__ = "0.1.0"
