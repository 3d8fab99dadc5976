"""Errors of the classifier package."""


class RulePackError(ValueError):
    """A rule pack file that cannot be used; the message names file, rule and field.

    Raised on load, before any text is classified, so a broken pack never replaces a
    working one (see `PackReloader`).
    """
