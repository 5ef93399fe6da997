"""Processing algorithms, one module each; ``ALGORITHMS`` is what the provider loads."""
from .align_to_fine import AlignToFine
from .compare import Compare
from .evaluate import Evaluate
from .simulate import Simulate

ALGORITHMS = [
    AlignToFine,
    Evaluate,
    Compare,
    Simulate,
]
