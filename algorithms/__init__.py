"""Processing algorithms, one module each; ``ALGORITHMS`` is what the provider loads."""
from .align_to_fine import AlignToFine
from .compare import Compare
from .evaluate import Evaluate

ALGORITHMS = [
    AlignToFine,
    Evaluate,
    Compare,
]
