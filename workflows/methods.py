"""A fusion method chosen by name, with its settings, for tools that run methods by name.

The names and what each needs come from :mod:`models.registry`; ``model`` is a
trained deep model file. Each predicts one date from the reference pairs chosen
by ``workflows.fuse_series.plan_series`` and writes a Float32 GeoTIFF in the
inputs' units.
"""
import os
from dataclasses import dataclass, field
from typing import Dict, Optional

from ..common.errors import InputError
from ..common.pairs import DatePlan
from ..common.progress import Progress
from ..models.registry import MethodSpec, get_method, method_names


@dataclass
class FusionMethod:
    """A registered method and its settings: ``name`` from the registry, or 'model' with ``model_file``.

    ``settings`` are the method's parameters (e.g. ``half_window``) on top of
    the registry's defaults; ``device`` is used by deep models ('auto', 'cpu'
    or 'cuda').
    """

    name: str
    model_file: Optional[str] = None
    settings: Dict = field(default_factory=dict)
    device: str = "auto"

    @property
    def spec(self) -> MethodSpec:
        """The registry entry; InputError listing the choices for an unknown name."""
        try:
            spec = get_method(self.name)
        except ValueError:
            raise InputError(f"Unknown fusion method '{self.name}'; use one of "
                             f"{', '.join(method_names(('classical', 'model')))}.") from None
        if spec.trainable:
            raise InputError(f"{spec.label} predicts from a trained model file: train it first "
                             "(lstfusion:train), then use the method 'model' with that file.")
        return spec

    @property
    def label(self) -> str:
        """Name shown in tables: the method, or the model file's name."""
        if self.spec.kind == "model":
            return os.path.splitext(os.path.basename(self.model_file))[0]
        return self.name

    def pairs_needed(self) -> int:
        """Reference pairs the method uses: 1 or 2 (for a model file, from its architecture)."""
        if self.spec.kind == "model":
            architecture = self.model_spec()
            return 2 if architecture.pairs == 2 or architecture.two_pair else 1
        return self.spec.pairs

    def falls_back_to_one_pair(self) -> bool:
        """True for deep models that use two pairs when they bracket the target, else one."""
        return self.spec.kind == "model" and self.model_spec().pairs == 1

    def model_spec(self):
        """Architecture spec of the model file (loads the file's header)."""
        from ..models.deep.model_file import load_model
        return load_model(self.model_file).spec

    def method_settings(self) -> Dict:
        """The settings ``predict_plan`` gets: the registry's defaults overridden by ``settings``
        (``ubestarfm``: the bias correction and the authors' 2-class threshold unless overridden)."""
        return dict(self.spec.defaults, **self.settings)

    def predict(self, plan: DatePlan, out_path: str, progress: Progress) -> None:
        """Write the prediction of ``plan``'s date to ``out_path``."""
        settings = self.method_settings()
        if self.spec.kind == "model":
            settings.update(model_file=self.model_file, device=self.device)
        self.spec.predictor().predict_plan(plan, out_path, settings, progress)
