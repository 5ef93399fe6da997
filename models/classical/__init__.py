"""Classical fusion methods: ``naive`` (the baseline), ``starfm`` (Gao et al. 2006, one pair) and
``estarfm`` (Zhu et al. 2010, two pairs; with the ubESTARFM local bias correction of Yu et al. 2023)
with its optional numba ``estarfm_kernel``, run tile by tile with a halo by ``tiled``; ``window``
holds the moving-window sums they share and ``spread`` their raw per-pixel uncertainty.
Imports only :mod:`common`.
"""
