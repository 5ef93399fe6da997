"""Exceptions the engine raises for problems a user can act on.

Algorithms turn :class:`InputError` into ``QgsProcessingException`` with the
same message, and :class:`Cancelled` into a clean stop.
"""


class InputError(ValueError):
    """The user's input cannot be processed; the message says why and what to do."""


class Cancelled(RuntimeError):
    """The user cancelled the operation; nothing was written."""
