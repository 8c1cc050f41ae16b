"""The photo step of the model worker: its rules as plain functions, and the step itself on
small photos made in code (an EXIF-rotated JPEG with a GPS position, a transparent PNG, a
decompression bomb, files that are no photo), through the process the pipeline starts."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path

import pytest
from PIL import Image

from modelworker.imaging import (
    PhotoLimits,
    Refused,
    check_header,
    fitted,
    missing_codecs,
    open_photo,
    variant_widths,
)
from modelworker.limits import Limits
from modelworker.pipeline import InvalidUpload, Pipeline, UploadTooLarge
from tests.helpers import png

LIMITS = PhotoLimits(**{**Limits().for_photos(), "widths": Limits().photo_widths})
WIDTHS = (320, 640, 1280, 1920)
GPS_IFD = 0x8825
ORIENTATION = 0x0112


def test_variants_are_never_wider_than_the_photo() -> None:
    assert variant_widths(4000, WIDTHS) == [320, 640, 1280, 1920]
    assert variant_widths(1920, WIDTHS) == [320, 640, 1280, 1920]
    assert variant_widths(1000, WIDTHS) == [320, 640, 1000]
    assert variant_widths(200, WIDTHS) == [200], "a small photo still gets one of each"


def test_the_main_image_fits_its_longest_side() -> None:
    assert fitted((6000, 4000), 2400) == (2400, 1600)
    assert fitted((3000, 6000), 2400) == (1200, 2400)
    assert fitted((800, 600), 2400) == (800, 600), "never enlarged"


def test_formats_and_pixels_are_judged_from_the_header() -> None:
    assert check_header("MPO", (10, 10), LIMITS) == "JPEG"
    with pytest.raises(Refused) as gif:
        check_header("GIF", (10, 10), LIMITS)
    assert gif.value.reason == "invalid"
    with pytest.raises(Refused) as big:
        check_header("PNG", (8000, 5001), LIMITS)
    assert big.value.reason == "too_large" and "40 megapixels" in str(big.value)


def test_the_worker_is_given_every_photo_limit() -> None:
    assert set(Limits().for_photos()) == {f.name for f in fields(PhotoLimits)}


def test_this_pillow_has_every_codec_the_step_needs() -> None:
    assert missing_codecs() == []


def rotated_jpeg_with_gps(path: Path) -> None:
    """A 600 x 400 JPEG whose EXIF says to turn it a quarter clockwise (orientation 6), with a
    GPS position, a camera name and XMP: a phone's photo taken upright."""
    image = Image.new("RGB", (600, 400), (220, 60, 40))
    image.paste((30, 60, 200), (0, 0, 600, 100))  # the top edge, as stored
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    exif[0x010F] = "PetCam"
    exif.get_ifd(GPS_IFD)[2] = (51.0, 30.0, 0.0)  # GPSLatitude
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>'
    image.save(path, "JPEG", exif=exif.tobytes(), xmp=xmp, quality=90)


def run_step(source: Path, out: Path) -> dict[str, object]:
    out.mkdir()
    return asyncio.run(Pipeline("node", timeout=60, workers=1).process_photo(source, out))


def assert_no_metadata(path: Path) -> None:
    with Image.open(path) as image:
        assert not image.getexif(), f"{path.name} keeps EXIF"
        for kind in ("exif", "xmp", "XML:com.adobe.xmp", "icc_profile"):
            assert not image.info.get(kind), f"{path.name} keeps {kind}"
    assert b"PetCam" not in path.read_bytes()


def test_a_rotated_jpeg_comes_out_upright_without_metadata(tmp_path: Path) -> None:
    source = tmp_path / "phone.jpg"
    rotated_jpeg_with_gps(source)
    made = run_step(source, tmp_path / "out")
    main = made["main"]
    assert isinstance(main, dict)
    assert (main["width"], main["height"]) == (400, 600), "turned a quarter: sides swapped"
    with Image.open(tmp_path / "out" / main["file"]) as image:
        assert image.format == "JPEG" and image.size == (400, 600)
        # The stored top edge (blue) is now the right-hand edge.
        red, _, blue = image.convert("RGB").getpixel((390, 300))
        assert blue > 150 and red < 100
    variants = made["variants"]
    assert isinstance(variants, list)
    assert sorted({(v["format"], v["width"]) for v in variants}) == [
        ("avif", 320),
        ("avif", 400),
        ("webp", 320),
        ("webp", 400),
    ]
    for written in (tmp_path / "out").iterdir():
        assert_no_metadata(written)
    for variant in variants:
        with Image.open(tmp_path / "out" / variant["file"]) as image:
            assert image.format == variant["format"].upper()
            assert image.size == (variant["width"], variant["height"])


def test_a_transparent_png_keeps_its_alpha(tmp_path: Path) -> None:
    source = tmp_path / "cut-out.png"
    image = Image.new("RGBA", (700, 500), (0, 0, 0, 0))
    image.paste((10, 120, 60, 255), (100, 100, 600, 400))
    image.save(source)
    made = run_step(source, tmp_path / "out")
    main = made["main"]
    assert isinstance(main, dict) and main["file"] == "main.webp"
    with Image.open(tmp_path / "out" / "main.webp") as published:
        assert published.mode == "RGBA" and published.getpixel((5, 5))[3] == 0


def test_a_decompression_bomb_is_too_large_before_decoding(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png(60_000, 60_000, bytes(1000)))
    assert bomb.stat().st_size < 2000
    with pytest.raises(Refused) as refused:
        open_photo(bomb, LIMITS)
    assert refused.value.reason == "too_large"
    with pytest.raises(UploadTooLarge):
        run_step(bomb, tmp_path / "out")


def saved(image: Image.Image, kind: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, kind)
    return buffer.getvalue()


def half_a_jpeg() -> bytes:
    whole = saved(Image.effect_noise((300, 300), 50).convert("RGB"), "JPEG")
    return whole[: len(whole) // 2]


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("notes.jpg", lambda: b"these are my notes, not a photo\n"),
        ("animation.jpg", lambda: saved(Image.new("P", (20, 20)), "GIF")),
        ("half.jpg", half_a_jpeg),
    ],
    ids=["text", "gif", "truncated"],
)
def test_files_that_are_no_photo_this_shop_takes_are_invalid(
    tmp_path: Path, name: str, make: Callable[[], bytes]
) -> None:
    source = tmp_path / name
    source.write_bytes(make())
    with pytest.raises(InvalidUpload) as refused:
        run_step(source, tmp_path / "out")
    assert not isinstance(refused.value, UploadTooLarge)
    assert refused.value.errors
    assert not list((tmp_path / "out").iterdir()), "nothing written"
