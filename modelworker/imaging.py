"""`python -m modelworker.imaging <upload> <out dir> --limits JSON`: a product photo decoded
for real with Pillow, turned upright by its EXIF orientation, brought to sRGB and stripped of
every piece of metadata (EXIF with its GPS position, XMP, ICC profile), then written as a main
image and variants in AVIF and WebP at the widths the storefront asks for. Run as its own
process by the pipeline runner, which bounds its time; the process caps its own address space,
so a photo too large to decode ends in a clear error rather than the machine swapping. The
limits are checked from the header before any pixel is decoded: a 40 KB PNG may declare a
billion pixels. Exit code 2: not a photo this shop takes."""

from __future__ import annotations

import argparse
import io
import json
import resource
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError, features

from modelworker.pipeline import write_report

# The formats taken, by what the file decodes as (never by its name or declared type). MPO is
# how Pillow names the JPEG that many cameras write, with a second picture after the first.
FORMATS = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG", "WEBP": "WebP", "AVIF": "AVIF"}
# Pillow's own plugins for these and no other: a hostile file never reaches a decoder for
# a format the shop does not take.
PLUGINS = ["JPEG", "PNG", "WEBP", "AVIF"]
# Encoder settings: a photo's variants are looked at, not inspected; AVIF's speed 8 keeps a
# 1920 px encode around a second on one core.
AVIF_OPTIONS = {"quality": 60, "speed": 8}
WEBP_OPTIONS = {"quality": 80, "method": 4}
MAIN_JPEG_OPTIONS = {"quality": 86, "optimize": True, "progressive": True}
MAIN_WEBP_OPTIONS = {"quality": 86, "method": 4}


# Pillow's codecs the step needs: its wheels carry them all, a Pillow built otherwise may not.
CODECS = ("jpg", "zlib", "webp", "avif", "littlecms2")


def missing_codecs() -> list[str]:
    """Those of CODECS this Pillow lacks (`python -m modelworker check`)."""
    return [codec for codec in CODECS if not features.check(codec)]


class Refused(Exception):
    """Not a photo this shop takes: `reason` is `invalid` or `too_large`."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class PhotoLimits:
    """What modelworker.limits.Limits says of photos, as this process is given it."""

    bytes: int
    pixels: int
    main_px: int
    widths: tuple[int, ...]
    memory_mb: int


def variant_widths(width: int, widths: tuple[int, ...]) -> list[int]:
    """The variant widths of a photo `width` pixels wide: those of `widths` it is wider than,
    and its own width when that is under the largest (never an upscaled copy, and a narrow
    photo still gets one variant of each format)."""
    chosen = sorted(w for w in widths if w < width)
    if width <= max(widths):
        chosen.append(width)
    return chosen


def fitted(size: tuple[int, int], longest: int) -> tuple[int, int]:
    """`size` scaled down, proportions kept, so neither side is over `longest`."""
    width, height = size
    scale = min(1.0, longest / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def height_at(size: tuple[int, int], width: int) -> int:
    return max(1, round(size[1] * width / size[0]))


def check_header(kind: str | None, size: tuple[int, int], limits: PhotoLimits) -> str:
    """The format's name, once what the header declares is within the limits."""
    name = FORMATS.get(kind or "")
    if name is None:
        raise Refused("invalid", f"{kind} images are not taken: JPEG, PNG, WebP or AVIF only")
    width, height = size
    if width * height > limits.pixels:
        raise Refused(
            "too_large",
            f"the photo has {width} x {height} pixels; at most "
            f"{limits.pixels // 1_000_000} megapixels are taken",
        )
    return name


def open_photo(path: Path, limits: PhotoLimits) -> Image.Image:
    """The photo decoded, after its size and header have been checked."""
    size = path.stat().st_size
    if size > limits.bytes:
        raise Refused("too_large", f"the photo has {size} bytes; at most {limits.bytes}")
    try:
        # Pillow's own guard (a warning past 89 Mpixels, an error past twice that) stops
        # what the header check would refuse anyway: as an error, it is refused the same way.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(path, formats=PLUGINS)
            check_header(image.format, image.size, limits)
            image.load()
    except Refused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise Refused(
            "too_large",
            f"the photo has too many pixels; at most {limits.pixels // 1_000_000} megapixels "
            "are taken",
        ) from exc
    except UnidentifiedImageError as exc:
        raise Refused("invalid", "not a JPEG, PNG, WebP or AVIF image") from exc
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise Refused("invalid", f"the image data cannot be decoded: {exc}") from exc
    return image


def upright_srgb(image: Image.Image) -> Image.Image:
    """Turned as its EXIF orientation says, in sRGB, RGB or RGBA, with no metadata at all."""
    turned = ImageOps.exif_transpose(image)
    mode = "RGBA" if turned.has_transparency_data else "RGB"
    profile = turned.info.get("icc_profile")
    converted = None
    if profile:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
            converted = ImageCms.profileToProfile(
                turned, source, ImageCms.createProfile("sRGB"), outputMode=mode
            )
        except (ImageCms.PyCMSError, OSError, ValueError):
            # A profile that cannot be read or applied: the pixels are taken as sRGB.
            converted = None
    clean = converted if converted is not None else turned.convert(mode)
    # Savers write what `info` carries (EXIF, XMP, the profile); nothing of it goes out.
    clean.info = {}
    return clean


def write_photo(image: Image.Image, out: Path, limits: PhotoLimits) -> dict[str, Any]:
    """The main image and the variants in `out`; what was written, for the report."""
    has_alpha = image.mode == "RGBA"
    main_size = fitted(image.size, limits.main_px)
    main = image if main_size == image.size else image.resize(main_size, Image.Resampling.LANCZOS)
    # JPEG where it can (any client shows it); WebP keeps a transparent photo's alpha.
    if has_alpha:
        main_file, main_format = out / "main.webp", "WEBP"
        main.save(main_file, main_format, **MAIN_WEBP_OPTIONS)
    else:
        main_file, main_format = out / "main.jpg", "JPEG"
        main.save(main_file, main_format, **MAIN_JPEG_OPTIONS)
    variants = []
    # No variant is larger than the main image: a tall photo's main is narrower than it.
    for width in variant_widths(main.width, limits.widths):
        size = (width, height_at(main.size, width))
        scaled = main if size == main.size else image.resize(size, Image.Resampling.LANCZOS)
        for name, options in (("avif", AVIF_OPTIONS), ("webp", WEBP_OPTIONS)):
            target = out / f"w{width}.{name}"
            scaled.save(target, name.upper(), **options)
            variants.append(
                {"file": target.name, "format": name, "width": size[0], "height": size[1]}
            )
    return {
        "main": {"file": main_file.name, "width": main.width, "height": main.height},
        "variants": variants,
    }


def process(source: Path, out: Path, limits: PhotoLimits) -> dict[str, Any]:
    image = open_photo(source, limits)
    return write_photo(upright_srgb(image), out, limits)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("source", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--limits", required=True, help="PhotoLimits as JSON")
    args = parser.parse_args(argv)
    given = json.loads(args.limits)
    limits = PhotoLimits(**{**given, "widths": tuple(given["widths"])})
    cap = limits.memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    try:
        written = process(args.source, args.out, limits)
    except Refused as exc:
        return write_report(exc.reason, str(exc))
    except MemoryError:
        return write_report("too_large", f"decoding it needs more than {limits.memory_mb} MB")
    return write_report(photo=written)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
