"""Simulation: realistic synthetic fine/coarse LST series with the truth on every day.

``simulate`` writes the series; ``landscape`` makes land cover and smooth fields, ``forcing``
the weather and variability settings, ``surface`` the per-class temperature response, and
``sensor`` the MODIS-like point spread function on its own sinusoidal grid, ``discrepancy``
the date- and land-cover-dependent MODIS-Landsat disagreement of the real-like setting. Imports only :mod:`common`.
"""
