"""The one error the store raises for a dataset it cannot read or write where it is asked to."""

from __future__ import annotations


class DatasetError(Exception):
    """The path is not a readable triage dataset, or not a place a dataset can be: said in one
    line, naming it (the command line prints it and exits 2)."""
