"""Errors of reading documents in."""

from citeqa.errors import CiteqaError


class IngestError(CiteqaError):
    """Nothing could be ingested from what was given."""
