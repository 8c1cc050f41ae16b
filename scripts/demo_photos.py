"""Draw the demo catalog's product photos: `python scripts/demo_photos.py [out dir]` writes one
JPEG per demo product (demo/photos/ by default), an illustration of it on a studio backdrop.

The project draws them itself, so they carry no one else's licence (demo/photos/LICENSES.md),
and deterministically: nothing random, no fonts, a fixed JPEG encoder setting, so the same
Pillow writes the same bytes (tests/unit/test_demo_photos.py holds the committed files to it).
Each is drawn at twice its size and scaled down, for smooth edges."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parent.parent / "demo" / "photos"
WIDTH, HEIGHT = 1600, 1200
SCALE = 2  # drawn at twice the size, then scaled down
Colour = tuple[int, int, int]
Draw = ImageDraw.ImageDraw

# The backdrop of each category, light at the top and darker at the floor.
BACKDROPS: dict[str, tuple[Colour, Colour]] = {
    "toys": ((253, 240, 214), (236, 203, 150)),
    "feeding": ((222, 240, 236), (168, 208, 196)),
    "walking": ((228, 234, 250), (176, 190, 226)),
    "beds": ((243, 230, 242), (210, 184, 206)),
    "grooming": ((236, 244, 222), (192, 212, 160)),
}


def s(*values: float) -> list[float]:
    """Coordinates on the 1600 x 1200 canvas, as drawn at SCALE."""
    return [v * SCALE for v in values]


def backdrop(top: Colour, floor: Colour) -> Image.Image:
    """A studio sweep: light at the top, shading into the floor's colour."""
    size = (WIDTH * SCALE, HEIGHT * SCALE)
    ramp = Image.linear_gradient("L").resize(size)
    return Image.composite(Image.new("RGB", size, floor), Image.new("RGB", size, top), ramp)


def shadow(draw: Draw, cx: float, cy: float, rx: float, ry: float) -> None:
    draw.ellipse(s(cx - rx, cy - ry, cx + rx, cy + ry), fill=(0, 0, 0, 40))


def fox(d: Draw) -> None:
    shadow(d, 800, 960, 430, 50)
    d.polygon(s(420, 900, 560, 560, 1040, 560, 1180, 900), fill=(214, 110, 40))  # body
    d.polygon(s(1040, 600, 1360, 700, 1240, 860), fill=(214, 110, 40))  # tail
    d.polygon(s(1300, 690, 1380, 720, 1300, 790), fill=(250, 244, 232))  # tail tip
    d.polygon(s(360, 420, 620, 420, 560, 640, 420, 640), fill=(224, 122, 48))  # head
    d.polygon(s(360, 420, 400, 250, 480, 420), fill=(200, 96, 34))  # ears
    d.polygon(s(500, 420, 580, 250, 620, 420), fill=(200, 96, 34))
    d.polygon(s(420, 560, 560, 560, 490, 680), fill=(250, 244, 232))  # muzzle
    d.ellipse(s(470, 650, 510, 690), fill=(40, 30, 30))
    for x in (430, 530):
        d.ellipse(s(x, 480, x + 26, 506), fill=(40, 30, 30))
    for x in (480, 600, 980, 1100):
        d.rectangle(s(x, 860, x + 60, 950), fill=(120, 60, 30))


def bone(d: Draw) -> None:
    shadow(d, 800, 900, 500, 50)
    colour = (246, 240, 226)
    d.rounded_rectangle(s(420, 640, 1180, 800), 40 * SCALE, fill=colour)
    for x in (380, 1220):
        for y in (610, 830):
            d.ellipse(s(x - 110, y - 110, x + 110, y + 110), fill=colour)
    d.line(s(520, 700, 1080, 700), fill=(220, 210, 190), width=12 * SCALE)


def feather_wand(d: Draw) -> None:
    shadow(d, 760, 1010, 420, 40)
    d.line(s(300, 1000, 1100, 380), fill=(120, 84, 50), width=22 * SCALE)
    d.line(s(1100, 380, 1200, 460), fill=(90, 90, 90), width=6 * SCALE)
    for i, colour in enumerate(((226, 60, 60), (60, 140, 220), (250, 200, 40), (60, 180, 110))):
        angle = -60 + i * 30
        x = 1200 + angle * 2
        d.ellipse(s(x - 50, 450, x + 50, 780), fill=colour)
        d.line(s(1200, 460, x, 770), fill=(255, 255, 255), width=4 * SCALE)


def mixer(d: Draw) -> None:
    shadow(d, 800, 1010, 440, 50)
    body = (198, 40, 50)
    d.rounded_rectangle(s(420, 930, 1180, 1000), 30 * SCALE, fill=body)  # base
    d.rounded_rectangle(s(980, 420, 1130, 960), 50 * SCALE, fill=body)  # column
    d.rounded_rectangle(s(440, 300, 1160, 520), 110 * SCALE, fill=body)  # head
    d.polygon(s(560, 700, 900, 700, 860, 930, 600, 930), fill=(200, 204, 210))  # bowl
    d.ellipse(s(550, 670, 910, 730), fill=(225, 228, 232))
    d.line(s(720, 520, 720, 760), fill=(150, 150, 155), width=14 * SCALE)  # beater
    d.ellipse(s(1120, 380, 1180, 440), fill=(230, 230, 235))


def bowl(d: Draw) -> None:
    shadow(d, 800, 930, 480, 60)
    d.chord(s(340, 420, 1260, 1000), 0, 180, fill=(46, 130, 160))
    d.ellipse(s(340, 600, 1260, 760), fill=(32, 100, 128))
    for r in (300, 200, 100):
        d.arc(
            s(800 - r * 1.4, 680 - r * 0.2, 800 + r * 1.4, 680 + r * 0.2),
            0,
            360,
            fill=(120, 200, 220),
            width=14 * SCALE,
        )


def fountain(d: Draw) -> None:
    shadow(d, 800, 980, 420, 50)
    steel = (196, 202, 210)
    d.rounded_rectangle(s(420, 720, 1180, 980), 80 * SCALE, fill=steel)
    d.ellipse(s(420, 660, 1180, 780), fill=(220, 226, 232))
    d.ellipse(s(470, 680, 1130, 760), fill=(150, 200, 230))
    d.rectangle(s(770, 420, 830, 720), fill=steel)
    for dx in (-160, -80, 80, 160):
        d.arc(
            s(800 - abs(dx), 380, 800 + abs(dx), 760),
            180 if dx < 0 else 270,
            270 if dx < 0 else 360,
            fill=(120, 180, 230),
            width=10 * SCALE,
        )


def shoe(d: Draw) -> None:
    shadow(d, 800, 900, 520, 50)
    d.polygon(s(300, 880, 300, 620, 620, 520, 820, 640, 1240, 700, 1320, 880), fill=(70, 90, 160))
    d.rounded_rectangle(s(280, 860, 1340, 920), 24 * SCALE, fill=(245, 245, 240))  # sole
    for x in range(560, 820, 60):
        d.line(s(x, 600, x + 40, 700), fill=(245, 245, 240), width=10 * SCALE)  # laces
    d.polygon(s(1000, 700, 1240, 720, 1280, 840, 1000, 840), fill=(240, 150, 60))


def leash(d: Draw) -> None:
    shadow(d, 800, 960, 420, 40)
    d.arc(s(420, 300, 820, 700), 0, 360, fill=(30, 30, 40), width=40 * SCALE)  # handle loop
    points = s(620, 700, 700, 820, 900, 860, 1080, 800, 1180, 900)
    d.line(points, fill=(30, 30, 40), width=40 * SCALE, joint="curve")
    d.line(points, fill=(230, 240, 120), width=8 * SCALE, joint="curve")  # reflective stitch
    d.rounded_rectangle(s(1160, 880, 1260, 960), 20 * SCALE, fill=(170, 170, 175))  # clip


def harness(d: Draw) -> None:
    shadow(d, 800, 990, 400, 40)
    strap = (230, 90, 60)
    d.ellipse(s(520, 320, 1080, 720), outline=strap, width=60 * SCALE)
    d.rounded_rectangle(s(560, 620, 1040, 940), 80 * SCALE, outline=strap, width=60 * SCALE)
    d.rounded_rectangle(s(740, 600, 860, 700), 20 * SCALE, fill=(170, 170, 175))  # front ring
    d.rounded_rectangle(s(700, 900, 900, 980), 20 * SCALE, fill=(40, 40, 50))  # buckle


def dog_bed(d: Draw) -> None:
    shadow(d, 800, 970, 560, 60)
    d.rounded_rectangle(s(260, 560, 1340, 960), 160 * SCALE, fill=(110, 80, 70))
    d.rounded_rectangle(s(380, 620, 1220, 900), 120 * SCALE, fill=(232, 214, 190))
    d.line(s(480, 760, 1120, 760), fill=(212, 192, 166), width=10 * SCALE)


def cat_cave(d: Draw) -> None:
    shadow(d, 800, 970, 480, 60)
    d.chord(s(340, 260, 1260, 1200), 180, 360, fill=(120, 110, 160))
    d.rectangle(s(340, 720, 1260, 960), fill=(120, 110, 160))
    d.chord(s(600, 560, 1000, 1200), 180, 360, fill=(60, 50, 80))  # the opening
    d.rectangle(s(600, 880, 1000, 960), fill=(60, 50, 80))
    d.ellipse(s(1100, 300, 1180, 380), fill=(250, 190, 60))  # the warm light


def brush(d: Draw) -> None:
    shadow(d, 800, 960, 460, 40)
    d.rounded_rectangle(s(280, 620, 820, 720), 50 * SCALE, fill=(60, 140, 100))  # handle
    d.rounded_rectangle(s(780, 480, 1280, 760), 60 * SCALE, fill=(60, 140, 100))  # head
    d.rectangle(s(820, 760, 1240, 800), fill=(180, 180, 186))  # blade
    for x in range(830, 1240, 20):
        d.line(s(x, 800, x, 840), fill=(150, 150, 156), width=6 * SCALE)  # teeth


# Each demo product's drawing, by SKU (demo/catalog.json names the file and its alt text).
DRAWINGS: dict[str, tuple[str, Callable[[Draw], None]]] = {
    "PS-TOY-0001": ("toys", fox),
    "PS-TOY-0002": ("toys", bone),
    "PS-TOY-0003": ("toys", feather_wand),
    "PS-FEED-0001": ("feeding", mixer),
    "PS-FEED-0002": ("feeding", bowl),
    "PS-FEED-0003": ("feeding", fountain),
    "PS-WALK-0001": ("walking", shoe),
    "PS-WALK-0002": ("walking", leash),
    "PS-WALK-0003": ("walking", harness),
    "PS-BED-0001": ("beds", dog_bed),
    "PS-BED-0002": ("beds", cat_cave),
    "PS-GROOM-0001": ("grooming", brush),
}


def file_name(sku: str) -> str:
    return f"{sku.lower()}.jpg"


def draw(sku: str) -> Image.Image:
    category, drawing = DRAWINGS[sku]
    image = backdrop(*BACKDROPS[category])
    layer = Image.new("RGBA", image.size, (0, 0, 0, 0))
    drawing(ImageDraw.Draw(layer))
    image.paste(layer, (0, 0), layer)
    return image.resize((WIDTH, HEIGHT), Image.Resampling.LANCZOS)


def write_all(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for sku in DRAWINGS:
        target = out / file_name(sku)
        draw(sku).save(target, "JPEG", quality=85, optimize=True)
        written.append(target)
    return written


if __name__ == "__main__":
    for path in write_all(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT):
        print(path)
