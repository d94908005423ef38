"""Errors of the index stage; each says what to do next."""

from citeqa.errors import CiteqaError


class IndexNotFoundError(CiteqaError):
    """No usable index where one was expected."""


class IndexMismatchError(CiteqaError):
    """The index was built differently (model, dimension, format) from what is asked of it now."""


class IndexDamagedError(CiteqaError):
    """The index files are unreadable or disagree with each other."""


class IndexBusyError(CiteqaError):
    """Another process is writing the index."""
