"""Evaluation: the survey's metrics (RMSE, SSIM, PSNR, SAM, CC, ERGAS, plus MAE and bias),
streamed over row blocks (``metrics``), per-method comparison over dates (``comparison``),
CSV/JSON tables (``tables``) and self-contained HTML reports (``report``). Imports only :mod:`common`.
"""
