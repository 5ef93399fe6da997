"""Every fusion method a user can choose, in one table: name -> :class:`MethodSpec`.

Importing this module imports neither torch nor any method's code. Each entry
names the module under ``models/`` that predicts one date from a plan of
reference pairs: it provides ``predict_plan(plan, out_path, settings,
progress)`` (plan: :class:`common.pairs.DatePlan`; settings: a dict of the
method's parameters, for deep models ``model_file`` and ``device``) and
writes a Float32 GeoTIFF in the inputs' units.

Kinds: ``classical`` methods predict straight from the pairs; ``deep``
entries are architectures (listed in :mod:`models.deep.architectures`) that
are trained first; the ``model`` entry predicts with a trained model file.
The order of the table is the order of the Processing enums (``METHOD`` of
fuseseries: every entry but the deep architectures; ``METHODS`` of experiment:
every entry but ``model``; ``MODEL`` of train: the deep architectures), so
a new method is appended, never inserted: enum indices are public.

Adding a classical method: its module with ``predict_plan`` and one
:func:`register` call below. Adding a deep model: its network module and one
entry in :mod:`models.deep.architectures` (it is listed here from there).
"""
import importlib
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional

from .deep.architectures import get_spec, model_names

KINDS = ("classical", "deep", "model")


@dataclass(frozen=True)
class MethodSpec:
    """A method a user can choose.

    ``pairs``: reference pairs it needs (1, or 2 for a pair before and one
    after the target); for the ``model`` entry the model file decides.
    ``one_pair_fallback``: a two-pair capable method that predicts from the
    nearest single pair at the ends of a series. ``defaults``: settings passed
    to ``predict_plan`` unless overridden.
    """

    name: str
    label: str
    kind: str
    pairs: int
    module: str
    defaults: Mapping = field(default_factory=dict)
    one_pair_fallback: bool = False

    @property
    def trainable(self) -> bool:
        """True for deep architectures (a model file is trained before predicting)."""
        return self.kind == "deep"

    def predictor(self):
        """The module with ``predict_plan`` (imported on first use)."""
        return importlib.import_module(f"{__package__}.{self.module}")


_METHODS: Dict[str, MethodSpec] = {}


def register(spec: MethodSpec) -> MethodSpec:
    """Append a method to the table (unique lower-case names, pairs 1 or 2, a known kind)."""
    if spec.name in _METHODS:
        raise ValueError(f"method '{spec.name}' is already registered")
    if spec.kind not in KINDS or spec.pairs not in (1, 2):
        raise ValueError(f"method '{spec.name}': kind must be one of {KINDS} and pairs 1 or 2")
    _METHODS[spec.name] = spec
    return spec


def method_names(kinds=KINDS) -> List[str]:
    """Names of the methods of the given kinds, in table order."""
    return [name for name, spec in _METHODS.items() if spec.kind in kinds]


def get_method(name: str) -> MethodSpec:
    """The entry of ``name``; ValueError listing the known names otherwise."""
    try:
        return _METHODS[name]
    except KeyError:
        raise ValueError(f"Unknown fusion method '{name}'; known methods: "
                         f"{', '.join(_METHODS)}.") from None


def deep_method(name: str, label: Optional[str] = None) -> MethodSpec:
    """The entry of a deep architecture, from its spec in :mod:`models.deep.architectures`."""
    spec = get_spec(name)
    return MethodSpec(name=name, label=label or spec.display_name, kind="deep", pairs=spec.pairs,
                      module="deep.predict", one_pair_fallback=spec.pairs == 1 and spec.two_pair)


register(MethodSpec("starfm", "STARFM (one pair)", "classical", 1, "classical.starfm"))
register(MethodSpec("estarfm", "ESTARFM (two pairs)", "classical", 2, "classical.estarfm",
                    defaults={"bias_correction": False}))
# ubESTARFM's similarity threshold in the authors' R code (yuyi13/ubESTARFM) is one standard
# deviation, i.e. 2 sigma / n_classes with 2 classes (ESTARFM's default is 4).
register(MethodSpec("ubestarfm", "ESTARFM with local bias correction (ubESTARFM)", "classical", 2,
                    "classical.estarfm", defaults={"bias_correction": True, "num_classes": 2.0}))
register(MethodSpec("model", "Deep model (MODEL_FILE)", "model", 1, "deep.predict"))
for _name in model_names():
    register(deep_method(_name))
register(MethodSpec("naive", "Naive: fine reference + coarse change (baseline)", "classical", 1,
                    "classical.naive"))
