"""Processing algorithms, one module each; ``ALGORITHMS`` is what the provider loads."""
from .align_to_fine import AlignToFine
from .build_series import BuildSeries
from .compare import Compare
from .download import Download
from .estarfm import Estarfm
from .evaluate import Evaluate
from .experiment import Experiment
from .fill_gaps import FillGaps
from .fuse import FuseDeep
from .fuse_series import FuseSeries
from .install_deps import InstallDeps
from .landsat_lst import LandsatLst
from .modis_lst import ModisLst
from .simulate import Simulate
from .starfm import Starfm
from .train import TrainModel

ALGORITHMS = [
    AlignToFine,
    ModisLst,
    LandsatLst,
    FillGaps,
    Download,
    BuildSeries,
    Simulate,
    Starfm,
    Estarfm,
    TrainModel,
    FuseDeep,
    FuseSeries,
    Evaluate,
    Compare,
    Experiment,
    InstallDeps,
]
