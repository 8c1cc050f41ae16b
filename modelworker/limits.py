"""What the model worker takes and makes, in one frozen object that the runner hands to every
step (the zip unpacker, the OBJ converter, the optimiser, the poster renderer, the photo
processor). docs/api.md
states the same figures; tests/unit/test_model_limits.py holds the two together."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from petshore.contract import MODEL_PREVIEW_MAX_BYTES, PHOTO_UPLOAD_MAX_BYTES


@dataclass(frozen=True)
class Limits:
    # Declared sizes past these are no product model but a mistake, or a try at the worker's
    # memory: a 1 KB PNG may declare 60000 x 60000 pixels, and an accessor with no data (or
    # compressed data) any count at all; the validator checks neither against real bytes.
    image_side: int = 8192  # pixels, either side of one image
    image_pixels: int = 256 * 1024 * 1024  # all images together, as decoded
    vertices: int = 10_000_000
    triangles: int = 20_000_000
    draw_calls: int = 10_000
    accessor_elements: int = 100_000_000  # all accessors' counts together
    # Node's heap for the optimiser, and the OBJ converter's address space.
    memory_mb: int = 2048
    # A zip: entries, bytes inflated, and how far one entry may inflate (a zip bomb).
    zip_entries: int = 500
    zip_bytes: int = 1024 * 1024 * 1024
    zip_ratio: int = 200
    # What is published: the smallest textures that keep the model's look (search.py), found
    # within this long, else the model's own textures;
    search_seconds: int = 300
    # a preview for a model larger than this, costing at most this share of the model (on a
    # slow link the preview's bytes delay the full model),
    preview_bytes: int = MODEL_PREVIEW_MAX_BYTES
    preview_share: float = 0.25
    # and a square poster this many pixels a side.
    poster_px: int = 800
    # Photos: the catalog offers no upload past photo_bytes; a header declaring more than
    # photo_pixels is refused before a pixel is decoded (a 40 KB PNG may declare a billion).
    # Decoding 40 Mpixels with an ICC profile and resizing holds about 600 MB.
    photo_bytes: int = PHOTO_UPLOAD_MAX_BYTES
    photo_pixels: int = 40_000_000
    photo_memory_mb: int = 1536
    # What is published: a main image at most this many pixels on its longest side, and
    # AVIF and WebP variants at these widths (none wider than the photo).
    photo_main_px: int = 2400
    photo_widths: tuple[int, ...] = (320, 640, 1280, 1920)

    def for_optimiser(self) -> dict[str, Any]:
        """The limits optimise.mjs applies, by its own names."""
        names = {
            "image_side": "imageSide",
            "image_pixels": "imagePixels",
            "vertices": "vertices",
            "triangles": "triangles",
            "draw_calls": "drawCalls",
            "accessor_elements": "accessorElements",
        }
        return {js: value for name, value in asdict(self).items() if (js := names.get(name))}

    def for_photos(self) -> dict[str, Any]:
        """The limits modelworker.imaging applies (its PhotoLimits)."""
        return {
            "bytes": self.photo_bytes,
            "pixels": self.photo_pixels,
            "main_px": self.photo_main_px,
            "widths": list(self.photo_widths),
            "memory_mb": self.photo_memory_mb,
        }
