"""Progress reporting and cancellation for engine loops.

The engine never sees ``QgsProcessingFeedback``: it talks to a
:class:`Progress` object, which algorithms build from their feedback
(``algorithms/base.py``) and tests build with plain callables.
"""
from dataclasses import dataclass
from typing import Callable, Optional

from .errors import Cancelled


@dataclass
class Progress:
    """Progress sink with cancellation.

    ``report(percent)`` receives 0-100, ``info(text)`` receives messages and
    ``is_cancelled()`` is polled between units of work.
    """

    report: Callable[[float], None] = lambda percent: None
    info: Callable[[str], None] = lambda text: None
    is_cancelled: Callable[[], bool] = lambda: False

    def check(self) -> None:
        """Raise :class:`Cancelled` when the user asked to stop."""
        if self.is_cancelled():
            raise Cancelled("Cancelled by the user.")

    def step(self, done: int, total: int) -> None:
        """Report ``done`` of ``total`` units, then check for cancellation."""
        self.report(100.0 * done / max(total, 1))
        self.check()

    def sub(self, start: float, end: float) -> "Progress":
        """A progress that maps its 0-100 onto ``start``-``end`` of this one."""
        return Progress(
            report=lambda p: self.report(start + (end - start) * p / 100.0),
            info=self.info,
            is_cancelled=self.is_cancelled,
        )


def ensure(progress: Optional[Progress]) -> Progress:
    """The given progress, or a silent one."""
    return progress if progress is not None else Progress()
