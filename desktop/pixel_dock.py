"""A dock with the matplotlib plot of one pixel's LST over time, exportable as PNG and CSV."""
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from qgis.PyQt.QtWidgets import QDockWidget, QFileDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from ..workflows.pixel_series import PixelSeries, plot_pixel_series, write_pixel_csv


class PixelSeriesDock(QDockWidget):
    """Shows the last clicked pixel's series; PNG/CSV export of what is shown."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle(self.tr("LST pixel time series"))
        self.setObjectName("LstFusionPixelSeriesDock")
        self.series = None
        self.figure = Figure(figsize=(6, 4), tight_layout=True)
        self.canvas = FigureCanvasQTAgg(self.figure)
        body = QWidget()
        layout = QVBoxLayout(body)
        self.hint = QLabel(self.tr("Click a fused series on the map with the pixel time-series tool."))
        self.hint.setWordWrap(True)
        layout.addWidget(self.hint)
        layout.addWidget(self.canvas, 1)
        buttons = QHBoxLayout()
        self.png_button = QPushButton(self.tr("Export PNG…"))
        self.csv_button = QPushButton(self.tr("Export CSV…"))
        self.png_button.clicked.connect(lambda: self.ask_and_export("png"))
        self.csv_button.clicked.connect(lambda: self.ask_and_export("csv"))
        for button in (self.png_button, self.csv_button):
            button.setEnabled(False)
            buttons.addWidget(button)
        layout.addLayout(buttons)
        self.setWidget(body)
        self.setMinimumWidth(460)

    def show_series(self, series: PixelSeries) -> None:
        """Plot ``series`` and enable the exports."""
        self.series = series
        plot_pixel_series(series, self.figure)
        self.canvas.draw_idle()
        self.hint.setText(self.tr("{dates} dates at x {x:.1f}, y {y:.1f}").format(
            dates=len(series.dates), x=series.x, y=series.y))
        self.png_button.setEnabled(True)
        self.csv_button.setEnabled(True)

    def export(self, path: str) -> str:
        """Write the shown series: a .png of the plot or a .csv of the values, by extension."""
        if path.lower().endswith(".csv"):
            return write_pixel_csv(self.series, path)
        self.figure.savefig(path, dpi=150)
        return path

    def ask_and_export(self, kind: str) -> None:
        """Ask for a file name, then export."""
        filters = {"png": self.tr("PNG images (*.png)"), "csv": self.tr("CSV tables (*.csv)")}
        path, _ = QFileDialog.getSaveFileName(self, self.tr("Export the pixel time series"),
                                              f"lst_pixel.{kind}", filters[kind])
        if path:
            if not path.lower().endswith(f".{kind}"):
                path += f".{kind}"
            self.export(path)
