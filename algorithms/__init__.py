"""Processing algorithms, one module each; ``ALGORITHMS`` is what the provider loads."""
from .align_to_fine import AlignToFine
from .fuse import FuseDeep
from .train import TrainModel

ALGORITHMS = [
    AlignToFine,
    TrainModel,
    FuseDeep,
]
