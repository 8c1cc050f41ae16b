"""How close two renders of a model are: PSNR and SSIM of pictures taken from the same camera
(render.py). The pipeline's search (search.py), the quality tests and bench/models.py judge
an optimised model by these."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from modelworker.pipeline import orbit_picture

# The bar for an optimised model against its original: either is enough.
MIN_PSNR = 38.0
MIN_SSIM = 0.97
# A preview shows for the seconds the full model takes to arrive: it must be the same object,
# seen the same way, not a faithful copy.
MIN_PREVIEW_SSIM = 0.9


def pixels(picture: Path) -> np.ndarray:
    return np.asarray(Image.open(picture).convert("RGB"), dtype=np.float64)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a - b) ** 2))
    return float("inf") if mse == 0 else float(10 * np.log10(255.0**2 / mse))


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM over 8x8 windows of the luminance (Wang et al. 2004 constants)."""
    weights = np.array([0.299, 0.587, 0.114])
    x, y = a @ weights, b @ weights
    h, w = (x.shape[0] // 8) * 8, (x.shape[1] // 8) * 8
    bx = x[:h, :w].reshape(h // 8, 8, w // 8, 8).transpose(0, 2, 1, 3).reshape(-1, 64)
    by = y[:h, :w].reshape(h // 8, 8, w // 8, 8).transpose(0, 2, 1, 3).reshape(-1, 64)
    mx, my = bx.mean(1), by.mean(1)
    vx, vy = bx.var(1), by.var(1)
    cov = ((bx - mx[:, None]) * (by - my[:, None])).mean(1)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    values = ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
    return float(values.mean())


def compare(original: Path, candidate: Path) -> tuple[float, float]:
    """PSNR (dB) and SSIM of `candidate`'s picture against `original`'s."""
    a, b = pixels(original), pixels(candidate)
    return psnr(a, b), ssim(a, b)


def good_enough(psnr_db: float, ssim_index: float) -> bool:
    return psnr_db >= MIN_PSNR or ssim_index >= MIN_SSIM


def compare_orbits(original: Path, candidate: Path, orbits: int) -> tuple[float, float]:
    """The lowest PSNR and the lowest SSIM of `candidate` against `original` over the
    pictures of each orbit (pipeline.orbit_picture names them)."""
    scores = [
        compare(orbit_picture(original, i), orbit_picture(candidate, i)) for i in range(orbits)
    ]
    return min(p for p, _ in scores), min(s for _, s in scores)
