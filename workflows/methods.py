"""Every fusion method behind one call, for tools that run methods by name (fuseseries, experiment).

A method is named ``starfm``, ``estarfm``, ``ubestarfm`` (ESTARFM with the
local bias correction) or ``model`` (a trained deep model file). Each predicts
one date from the reference pairs chosen by ``workflows.fuse_series.plan_series``
and writes a Float32 GeoTIFF in the inputs' units.
"""
from dataclasses import dataclass, field
from typing import Dict, Optional

from ..common.errors import InputError
from ..common.pairs import DatePlan
from ..common.progress import Progress

CLASSICAL = ("starfm", "estarfm", "ubestarfm")
UBESTARFM_CLASSES = 2.0
"""ubESTARFM's similarity threshold in the authors' R code (yuyi13/ubESTARFM) is one standard
deviation, i.e. 2 sigma / n_classes with 2 classes (ESTARFM's default is 4)."""


@dataclass
class FusionMethod:
    """A method and its settings: ``name`` in CLASSICAL or 'model' with ``model_file``.

    ``settings`` are the method's parameters (e.g. ``half_window``); ``device``
    is used by deep models ('auto', 'cpu' or 'cuda').
    """

    name: str
    model_file: Optional[str] = None
    settings: Dict = field(default_factory=dict)
    device: str = "auto"

    @property
    def label(self) -> str:
        """Name shown in tables: the method, or the model file's name."""
        if self.name == "model":
            import os
            return os.path.splitext(os.path.basename(self.model_file))[0]
        return self.name

    def pairs_needed(self) -> int:
        """Reference pairs the method uses: 1 or 2."""
        if self.name == "starfm":
            return 1
        if self.name in ("estarfm", "ubestarfm"):
            return 2
        if self.name == "model":
            return 2 if self.model_spec().pairs == 2 or self.model_spec().two_pair else 1
        raise InputError(f"Unknown fusion method '{self.name}'; use one of "
                         f"{', '.join(CLASSICAL)} or a model file.")

    def falls_back_to_one_pair(self) -> bool:
        """True for deep models that use two pairs when they bracket the target, else one."""
        return self.name == "model" and self.model_spec().pairs == 1

    def model_spec(self):
        """Registry spec of the model file's architecture (loads the file's header)."""
        from ..models.deep.model_file import load_model
        return load_model(self.model_file).spec

    def estarfm_settings(self) -> Dict:
        """EstarfmParams keywords: ``ubestarfm`` adds the bias correction and, unless ``settings``
        say otherwise, the authors' one-standard-deviation threshold (2 classes, see
        :data:`UBESTARFM_CLASSES`)."""
        if self.name == "ubestarfm":
            return dict({"num_classes": UBESTARFM_CLASSES}, **self.settings, bias_correction=True)
        return dict(self.settings, bias_correction=False)

    def predict(self, plan: DatePlan, out_path: str, progress: Progress) -> None:
        """Write the prediction of ``plan``'s date to ``out_path``."""
        refs, target = plan.references, plan.target.coarse
        if self.name == "starfm":
            from ..models.classical.starfm import StarfmParams, run_starfm
            run_starfm(refs[0].fine, refs[0].coarse, target, out_path, StarfmParams(**self.settings),
                       progress=progress)
        elif self.name in ("estarfm", "ubestarfm"):
            from ..models.classical.estarfm import EstarfmParams, run_estarfm
            params = EstarfmParams(**self.estarfm_settings())
            run_estarfm(refs[0].fine, refs[0].coarse, refs[1].fine, refs[1].coarse, target, out_path,
                        params, dates=(refs[0].date, refs[1].date, plan.date), progress=progress)
        else:
            from ..models.deep.predict import fuse_paths
            second = refs[1] if len(refs) == 2 else None
            fuse_paths(self.model_file, refs[0].fine, refs[0].coarse, target, out_path,
                       fine_ref2=second.fine if second else None,
                       coarse_ref2=second.coarse if second else None,
                       device=self.device, progress=progress)
