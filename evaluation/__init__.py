"""Evaluation: the survey's metrics (RMSE, SSIM, PSNR, SAM, CC, ERGAS, plus MAE and bias),
streamed over row blocks (``metrics``), per-method comparison over dates (``comparison``),
CSV/JSON tables (``tables``), self-contained HTML reports (``report``) and the statistics that
set real and simulated fine/coarse pairs side by side (``realism``). Imports only :mod:`common`.
``conformal`` holds split-conformal calibration of prediction intervals; ``realism`` the
statistics that compare simulated and real MODIS/Landsat pairs.
"""
