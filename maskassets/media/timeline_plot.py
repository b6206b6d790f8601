"""The per-class timeline of one video as a PNG: detections per frame over time, one line per class, the legend
saying how many distinct faces each class had."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")  # no display on servers and in Ray workers
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

_FALLBACK_COLOR = (0.4, 0.4, 0.4)


def timeline_png(
    seconds: np.ndarray,
    counts_by_class: Mapping[str, np.ndarray],
    *,
    class_colors: Mapping[str, Sequence[int]],
    title: str,
    faces_by_class: Mapping[str, int],
) -> bytes:
    figure, axes = plt.subplots(figsize=(8, 2.6), dpi=100)
    try:
        for name, counts in counts_by_class.items():
            rgb = class_colors.get(name)
            color = tuple(channel / 255 for channel in rgb) if rgb else _FALLBACK_COLOR
            label = f"{name} ({faces_by_class.get(name, 0)} faces)"
            axes.step(seconds, counts, where="post", label=label, color=color, linewidth=1.4)
        axes.set_xlabel("time (s)")
        axes.set_ylabel("detections in frame")
        axes.set_title(title, fontsize=10)
        axes.set_ylim(bottom=0)
        axes.yaxis.get_major_locator().set_params(integer=True)
        axes.grid(alpha=0.3)
        axes.legend(loc="upper right", fontsize=8)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        plt.close(figure)
