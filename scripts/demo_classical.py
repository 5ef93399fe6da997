"""Demo steps of the classical fusion methods (STARFM, ESTARFM with local bias correction)."""
import os


def run_classical(run, out, fine_path, coarse_path, first_step=6):
    """STARFM and ESTARFM on dates made from the built-in scene, with the demo's
    ``run(step, algorithm, parameters)``, numbered from ``first_step``.

    The scene's day is the first pair (2016-02-05); a second pair (2016-03-08)
    is 6 K warmer except the irrigated block (+2 K), seen by the coarse sensor
    with a -2 K bias; the target day (2016-02-18) is half-way, coarse only.
    """
    import numpy as np
    from lst_fusion_plugin.core.raster_io import read_array, read_grid, write_array

    grid = read_grid(fine_path)
    fine1, coarse1 = read_array(fine_path), read_array(coarse_path)
    warming = np.full(fine1.shape, 6.0, np.float32)
    warming[150:210, 220:300] = 2.0
    coarse_warming = np.where(np.isfinite(coarse1), warming, np.nan)  # seen at 1 km: smoothed
    coarse_warming = np.nan_to_num(coarse_warming, nan=6.0).reshape(20, 20, 20, 20).mean(axis=(1, 3))
    coarse_warming = np.kron(coarse_warming, np.ones((20, 20), np.float32))
    files = {
        "fine2": (fine1 + warming, "landsat_lst_20160308.tif"),
        "coarse2": (coarse1 + coarse_warming - 2.0, "modis_lst_20160308.tif"),
        "target": (coarse1 + coarse_warming / 2 - 1.0, "modis_lst_20160218.tif"),
    }
    paths = {key: write_array(os.path.join(out, name), array.astype("float32"), grid, units="kelvin")
             for key, (array, name) in files.items()}
    starfm = run(f"{first_step}. STARFM: fine LST of 2016-02-18 from the 2016-02-05 pair", "lstfusion:starfm",
                 {"FINE_REF": fine_path, "COARSE_REF": coarse_path, "COARSE_TARGET": paths["target"],
                  "OUTPUT": os.path.join(out, "starfm_20160218.tif")})
    print(f"    -> {starfm['OUTPUT']} ({100 * starfm['VALID_FRACTION']:.1f} % predicted)")
    estarfm = run(f"{first_step + 1}. ESTARFM with local bias correction, from both pairs", "lstfusion:estarfm",
                  {"FINE_REF": fine_path, "COARSE_REF": coarse_path, "FINE_REF2": paths["fine2"],
                   "COARSE_REF2": paths["coarse2"], "COARSE_TARGET": paths["target"],
                   "BIAS_CORRECTION": True, "REF_DATE": "2016-02-05", "REF2_DATE": "2016-03-08",
                   "TARGET_DATE": "2016-02-18", "OUTPUT": os.path.join(out, "ubestarfm_20160218.tif")})
    print(f"    -> {estarfm['OUTPUT']} ({100 * estarfm['VALID_FRACTION']:.1f} % predicted)")
