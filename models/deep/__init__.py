"""Deep fusion models and their engine, importable without torch (torch is imported lazily).

Networks: ``edcstfn``, ``sttfn``, ``mlffgan`` (with ``losses`` and ``box_filter``, windowed means); their specs in
``architectures``. Engine: ``train`` (data, epochs, early stopping, resume), ``trainer``
(the optimisation step), ``predict`` (tiled inference), ``model_file`` (weights-only
files), ``checkpoint`` (resume state), ``device`` (auto/cpu/cuda) and
``coarse_simulation`` (coarse images simulated from fine ones), ``spread`` (raw uncertainty from
two-pair disagreement and test-time flips). Imports only :mod:`common`.
"""
