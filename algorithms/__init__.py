"""Processing algorithms, one module each; ``ALGORITHMS`` is what the provider loads."""
from .align_to_fine import AlignToFine
from .simulate import Simulate

ALGORITHMS = [
    AlignToFine,
    Simulate,
]
