"""The product-photo lines of API.md, through the gateway, with the real model worker: a
presigned PUT, then `complete` has the worker decode, turn upright, strip and scale the photo;
variants in AVIF and WebP served from `/media/` like model files; files that are no photo, or a
bomb, leave the product as it was; photos reordered and deleted; a product's model removed."""

from __future__ import annotations

import io
import re
from typing import Any

import httpx
import pytest
from PIL import Image

from petshore.contract import (
    MEDIA_KEY_PREFIX,
    MODEL_CACHE_CONTROL,
    RETIRED_TAG_KEY,
    RETIRED_TAG_VALUE,
    models_bucket_name,
)
from tests.e2e.test_model_uploads import unique_glb, upload
from tests.helpers import (
    ADMIN,
    assert_error,
    create_product,
    emulator_client,
    object_tags,
    png,
    unique_sku,
)

ORIENTATION, GPS_IFD = 0x0112, 0x8825
# petshore.modelfiles.content_key: the SHA-256 of the file's bytes, and its format.
MEDIA_URL = re.compile(r"^/media/[0-9a-f]{64}\.(jpg|png|webp|avif)$")
BUCKET = models_bucket_name("test")


def photo(
    size: tuple[int, int] = (640, 480), colour: tuple[int, int, int] = (40, 120, 90)
) -> bytes:
    """A JPEG whose pixels no other test's are (its colour and a gradient)."""
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    image.paste(colour, (0, 0, size[0] // 2, size[1] // 2))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def phone_photo() -> bytes:
    """A landscape photo as a phone stores it: 2000 x 4000 pixels on their side, EXIF saying
    to turn them a quarter clockwise (orientation 6), with a GPS position and a camera name."""
    image = Image.linear_gradient("L").resize((2000, 4000)).convert("RGB")
    image.paste((200, 30, 30), (0, 0, 2000, 400))
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    exif[0x010F] = "PetCam"
    exif.get_ifd(GPS_IFD)[2] = (51.0, 30.0, 0.0)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes(), quality=85)
    return buffer.getvalue()


def start(
    gateway: httpx.Client, sku: str, size: int, content_type: str = "image/jpeg", **fields: object
) -> httpx.Response:
    body = {
        "filename": "photo.jpg",
        "content_type": content_type,
        "bytes": size,
        "alt": "A test photo",
        **fields,
    }
    return gateway.post(f"/api/catalog/products/{sku}/image-uploads", json=body, headers=ADMIN)


def add_photo(
    gateway: httpx.Client,
    sku: str,
    data: bytes,
    content_type: str = "image/jpeg",
    alt: str = "A test photo",
) -> httpx.Response:
    started = start(gateway, sku, len(data), content_type, alt=alt)
    assert started.status_code == 201, started.text
    ticket = started.json()
    put = httpx.put(ticket["put_url"], content=data, headers=ticket["headers"], timeout=60)
    assert put.status_code == 200, put.text
    return gateway.post(
        f"/api/catalog/products/{sku}/image-uploads/{ticket['upload_id']}/complete",
        headers=ADMIN,
        timeout=120,
    )


def product(gateway: httpx.Client, sku: str) -> dict[str, Any]:
    return dict(gateway.get(f"/api/catalog/products/{sku}").json())


@pytest.fixture
def s3(moto_url: str) -> Any:
    return emulator_client(moto_url, "s3")


def assert_served(gateway: httpx.Client, url: str, content_type: str) -> bytes:
    """The file, served from `/media/` as the contract says: immutable, typed, with an ETag
    that a conditional request matches, and byte ranges."""
    assert url.startswith("/media/")
    full = gateway.get(url)
    assert full.status_code == 200, url
    assert full.headers["Cache-Control"] == MODEL_CACHE_CONTROL
    assert full.headers["Content-Type"] == content_type
    etag = full.headers["ETag"]
    assert etag
    assert gateway.get(url, headers={"If-None-Match": etag}).status_code == 304
    part = gateway.get(url, headers={"Range": "bytes=0-9"})
    assert part.status_code == 206
    assert part.content == full.content[:10]
    assert part.headers["Content-Range"] == f"bytes 0-9/{len(full.content)}"
    return full.content


def test_a_phone_photo_is_published_upright_without_metadata(gateway: httpx.Client) -> None:
    sku = create_product(gateway)["sku"]
    completed = add_photo(gateway, sku, phone_photo(), alt="The bowl from above")
    assert completed.status_code == 200, completed.text
    [image] = completed.json()["images"]
    assert image["alt"] == "The bowl from above"
    assert image["image_id"].startswith("im_")
    assert MEDIA_URL.match(image["url"]), image["url"]
    assert all(MEDIA_URL.match(v["url"]) for v in image["variants"]), image["variants"]
    # Upright: 4000 x 2000, and the main image at most 2400 px on its longest side.
    assert (image["width"], image["height"]) == (2400, 1200)
    main = Image.open(io.BytesIO(assert_served(gateway, image["url"], "image/jpeg")))
    assert main.size == (2400, 1200)
    assert not main.getexif() and "exif" not in main.info
    # The stored top edge (red) is now the right-hand edge.
    assert main.convert("RGB").getpixel((2390, 600))[0] > 150
    widths = {(v["format"], v["width"]) for v in image["variants"]}
    promised = {(f, w) for f in ("avif", "webp") for w in (320, 640, 1280, 1920)}
    assert widths == promised
    for variant in image["variants"]:
        data = assert_served(gateway, variant["url"], f"image/{variant['format']}")
        shown = Image.open(io.BytesIO(data))
        assert shown.format == variant["format"].upper()
        assert shown.width == variant["width"]
        assert not shown.getexif()
        assert b"PetCam" not in data
    assert product(gateway, sku)["images"] == [image]


def test_the_same_photo_has_the_same_files_wherever_it_is_shown(gateway: httpx.Client) -> None:
    data = photo(colour=(12, 34, 56))
    first, second = (create_product(gateway)["sku"] for _ in range(2))
    shown = [add_photo(gateway, sku, data).json()["images"][0] for sku in (first, second)]
    assert shown[0]["image_id"] != shown[1]["image_id"]
    assert shown[0]["url"] == shown[1]["url"]
    assert shown[0]["variants"] == shown[1]["variants"]


def test_photos_that_cannot_be_taken_change_nothing(gateway: httpx.Client) -> None:
    sku = create_product(gateway)["sku"]
    kept = add_photo(gateway, sku, photo()).json()
    # A PNG of 1 KB declaring 60,000 x 60,000 pixels: refused before it is decoded.
    bomb = png(60_000, 60_000, bytes(1000))
    error = assert_error(add_photo(gateway, sku, bomb, "image/png"), 413, "too_large")
    assert any("megapixels" in e for e in error["details"]["errors"]), error
    # Text named .jpg and sent as a JPEG: judged by what it decodes as.
    text = b"this is not a photo at all, only words\n" * 10
    error = assert_error(add_photo(gateway, sku, text), 400, "invalid_request")
    assert error["details"]["errors"]
    assert product(gateway, sku) == kept


def test_photo_upload_requests_are_checked(gateway: httpx.Client) -> None:
    sku = create_product(gateway)["sku"]
    for content_type in ("image/gif", "image/svg+xml", "model/gltf-binary"):
        assert_error(start(gateway, sku, 100, content_type), 415, "unsupported_media_type")
    assert_error(start(gateway, sku, 26 * 1024 * 1024), 413, "too_large")
    for bad in ({"alt": None}, {"bytes": 0}, {"filename": "../x.jpg"}, {"colour": "red"}):
        error = assert_error(start(gateway, sku, 100, **bad), 400, "invalid_request")
        assert error["details"]["fields"], error
    no_alt = {"filename": "p.jpg", "content_type": "image/jpeg", "bytes": 10}
    error = assert_error(
        gateway.post(f"/api/catalog/products/{sku}/image-uploads", json=no_alt, headers=ADMIN),
        400,
        "invalid_request",
    )
    assert error["details"]["fields"] == ["alt"]
    assert_error(start(gateway, unique_sku(), 100), 404, "not_found")
    unauthorised = gateway.post(f"/api/catalog/products/{sku}/image-uploads", json=no_alt)
    assert_error(unauthorised, 401, "unauthorized")
    # A model upload's id is no photo upload's.
    model_ticket = upload_ticket(gateway, sku)
    assert_error(
        gateway.post(
            f"/api/catalog/products/{sku}/image-uploads/{model_ticket}/complete", headers=ADMIN
        ),
        404,
        "not_found",
    )
    assert product(gateway, sku)["images"] == []
    # A photo comes only through an upload, never named in a new product's body.
    listed = {"sku": unique_sku(), "name": "x", "category": "x", "price_cents": 1}
    shown = [{"url": "/media/x.jpg", "alt": "x", "width": 1, "height": 1, "variants": []}]
    error = assert_error(
        gateway.post("/api/catalog/products", json={**listed, "images": shown}, headers=ADMIN),
        400,
        "invalid_request",
    )
    assert error["details"]["fields"] == ["images"]
    assert_error(gateway.get(f"/api/catalog/products/{listed['sku']}"), 404, "not_found")


def upload_ticket(gateway: httpx.Client, sku: str) -> str:
    body = {"filename": "m.glb", "content_type": "model/gltf-binary", "bytes": 10}
    answer = gateway.post(f"/api/catalog/products/{sku}/model-uploads", json=body, headers=ADMIN)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["upload_id"])


def test_photos_are_reordered_and_deleted(gateway: httpx.Client, s3: Any) -> None:
    sku, other = create_product(gateway)["sku"], create_product(gateway)["sku"]
    for colour in ((200, 0, 0), (0, 200, 0), (0, 0, 200)):
        assert add_photo(gateway, sku, photo(colour=colour)).status_code == 200
    elsewhere = add_photo(gateway, other, photo(colour=(9, 9, 9))).json()["images"][0]
    first, second, third = (i["image_id"] for i in product(gateway, sku)["images"])
    path = f"/api/catalog/products/{sku}"
    reordered = gateway.patch(path, json={"image_order": [third, first, second]}, headers=ADMIN)
    assert reordered.status_code == 200, reordered.text
    assert [i["image_id"] for i in reordered.json()["images"]] == [third, first, second]
    # With other fields, in one change: the order and the name both.
    both = {"image_order": [first, second, third], "name": "Reordered"}
    changed = gateway.patch(path, json=both, headers=ADMIN).json()
    assert [i["image_id"] for i in changed["images"]] == [first, second, third]
    assert changed["name"] == "Reordered"
    restored = {"image_order": [third, first, second], "name": "Test product"}
    assert gateway.patch(path, json=restored, headers=ADMIN).status_code == 200
    for order in (
        [third, first],  # not all of them
        [third, first, second, second],  # one twice
        [third, first, elsewhere["image_id"]],  # another product's
        [third, first, "im_" + "x" * 22],  # none at all
        ["not an id", first, second],
        "all",
    ):
        error = assert_error(
            gateway.patch(path, json={"image_order": order, "name": "Renamed"}, headers=ADMIN),
            400,
            "invalid_request",
        )
        assert error["details"]["fields"][0].startswith("image_order"), error
    assert product(gateway, sku)["name"] == "Test product", "a refused PATCH changes nothing"
    assert [i["image_id"] for i in product(gateway, sku)["images"]] == [third, first, second]
    assert_error(
        gateway.patch(
            f"/api/catalog/products/{unique_sku()}", json={"image_order": []}, headers=ADMIN
        ),
        404,
        "not_found",
    )

    gone = product(gateway, sku)["images"][0]
    deleted = gateway.delete(f"{path}/images/{third}", headers=ADMIN)
    assert deleted.status_code == 200, deleted.text
    assert [i["image_id"] for i in deleted.json()["images"]] == [first, second]
    assert product(gateway, sku)["images"] == deleted.json()["images"]
    # No product shows its files now: retired, and still readable by pages open before.
    key = gone["url"].removeprefix("/")
    assert key.startswith(MEDIA_KEY_PREFIX)
    assert object_tags(s3, BUCKET, key) == {RETIRED_TAG_KEY: RETIRED_TAG_VALUE}
    assert gateway.get(gone["url"]).status_code == 200
    for missing in (third, elsewhere["image_id"], "im_nope"):
        assert_error(gateway.delete(f"{path}/images/{missing}", headers=ADMIN), 404, "not_found")
    assert_error(gateway.delete(f"{path}/images/{first}"), 401, "unauthorized")
    assert len(product(gateway, other)["images"]) == 1


def test_a_discontinued_product_keeps_its_photos(gateway: httpx.Client, s3: Any) -> None:
    sku = create_product(gateway)["sku"]
    shown = add_photo(gateway, sku, photo(colour=(1, 2, 3))).json()["images"]
    discontinued = gateway.delete(f"/api/catalog/products/{sku}", headers=ADMIN).json()
    assert discontinued["status"] == "discontinued"
    assert discontinued["images"] == shown
    for url in (shown[0]["url"], *(v["url"] for v in shown[0]["variants"])):
        assert object_tags(s3, BUCKET, url.removeprefix("/")) == {}


def test_deleting_the_model_retires_its_files(gateway: httpx.Client, s3: Any) -> None:
    sku = create_product(gateway)["sku"]
    with_model = upload(gateway, sku, unique_glb())
    assert with_model.status_code == 200, with_model.text
    model = with_model.json()["model"]
    assert add_photo(gateway, sku, photo(colour=(4, 5, 6))).status_code == 200
    removed = gateway.delete(f"/api/catalog/products/{sku}/model", headers=ADMIN)
    assert removed.status_code == 200, removed.text
    assert removed.json()["model"] is None
    assert len(removed.json()["images"]) == 1, "the photos stay"
    assert product(gateway, sku) == removed.json()
    # Only the GLB: a one-triangle model's poster looks like every other's, so another
    # product may show the same (content-addressed) poster, and it stays.
    assert object_tags(s3, BUCKET, model["glb_url"].removeprefix("/")) == {
        RETIRED_TAG_KEY: RETIRED_TAG_VALUE
    }
    again = gateway.delete(f"/api/catalog/products/{sku}/model", headers=ADMIN)
    assert again.status_code == 200 and again.json() == removed.json()
    assert_error(
        gateway.delete(f"/api/catalog/products/{unique_sku()}/model", headers=ADMIN),
        404,
        "not_found",
    )
