"""The model upload lines of API.md: presigned PUT straight to S3, then `complete` validates,
optimises and publishes under a content-addressed key; bad files leave the product as it was."""

from __future__ import annotations

import io
import secrets
import struct
import time
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest
import trimesh
from trimesh.exchange.gltf import export_gltf

from devstack.samples import glb, tiny_gltf
from modelworker.quality import MIN_PREVIEW_SSIM, MIN_PSNR, MIN_SSIM
from petshore.contract import (
    MODEL_CACHE_CONTROL,
    MODEL_PREVIEW_MAX_BYTES,
    RETIRED_TAG_KEY,
    RETIRED_TAG_VALUE,
    models_bucket_name,
)
from tests.conftest import PART_BYTES
from tests.helpers import (
    ADMIN,
    NOT_FOR_SCENE_VIEWER,
    assert_error,
    broken_image_glb,
    complete_upload,
    create_product,
    emulator_client,
    glb_json,
    image_bomb_glb,
    object_tags,
    unique_sku,
    vertex_bomb_glb,
)

MODELS = Path(__file__).resolve().parents[2] / "demo" / "models"


def zipped(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def tree_as_gltf(embed: bool) -> dict[str, bytes]:
    scene = trimesh.load(str(MODELS / "kenney-tree" / "tree.obj"), force="scene")
    return {name: bytes(data) for name, data in export_gltf(scene, embed_buffers=embed).items()}


def start_upload(gateway: httpx.Client, sku: str, size: int, **fields: object) -> httpx.Response:
    body = {"filename": "model.glb", "content_type": "model/gltf-binary", "bytes": size, **fields}
    return gateway.post(f"/api/catalog/products/{sku}/model-uploads", json=body, headers=ADMIN)


def upload(
    gateway: httpx.Client, sku: str, data: bytes, content_type: str = "model/gltf-binary"
) -> httpx.Response:
    started = start_upload(gateway, sku, len(data), content_type=content_type)
    assert started.status_code == 201, started.text
    ticket = started.json()
    put = httpx.put(ticket["put_url"], content=data, headers=ticket["headers"], timeout=60)
    assert put.status_code == 200, put.text
    return complete_upload(
        gateway, f"/api/catalog/products/{sku}/model-uploads/{ticket['upload_id']}/complete"
    )


@pytest.mark.parametrize("name", ["Fox.glb", "Mixer.glb"])
def test_a_glb_is_optimised_and_published(gateway: httpx.Client, name: str) -> None:
    """And a large one gets a preview within the budget; a small one needs none."""
    original = (MODELS / name).read_bytes()
    product = create_product(gateway)
    ticket = start_upload(gateway, product["sku"], len(original)).json()
    httpx.put(ticket["put_url"], content=original, headers=ticket["headers"], timeout=60)
    status_path = f"/api/catalog/products/{product['sku']}/model-uploads/{ticket['upload_id']}"
    assert gateway.get(status_path, headers=ADMIN).json()["steps"] == []
    completed = complete_upload(gateway, status_path + "/complete")
    assert completed.status_code == 200, completed.text
    model = completed.json()["model"]
    # The pipeline's report, kept with the upload: each step, its time, the file's size around it.
    finished = gateway.get(status_path, headers=ADMIN).json()
    assert finished["status"] == "done"
    steps = {step["name"]: step for step in finished["steps"]}
    assert "meshopt" in steps and all(step["ms"] >= 0 for step in steps.values())
    assert steps["meshopt"]["bytes_out"] == model["bytes"]
    search = steps["quality search"]
    assert search["met_floor"] is True and search["bytes_out"] == model["bytes"]
    assert search["settings"] in [trial["settings"] for trial in search["tried"]]
    assert search["psnr"] >= MIN_PSNR or search["ssim"] >= MIN_SSIM
    preview_made = "preview" in steps and "error" not in steps["preview"]
    assert preview_made == (model["preview_url"] is not None)
    assert model["original_bytes"] == len(original)
    assert model["bytes"] < len(original)
    assert model["glb_url"].startswith("/models/") and model["glb_url"].endswith(".glb")
    served = gateway.get(model["glb_url"])
    assert served.status_code == 200
    assert served.content[:4] == b"glTF"
    assert len(served.content) == model["bytes"]
    assert gateway.get(f"/api/catalog/products/{product['sku']}").json()["model"] == model
    poster = gateway.get(model["poster_url"])
    assert poster.status_code == 200
    assert poster.headers["Content-Type"] == "image/webp"
    assert poster.content[:4] == b"RIFF" and poster.content[8:12] == b"WEBP"
    if preview_made:
        assert steps["preview"]["ssim"] >= MIN_PREVIEW_SSIM
        preview = gateway.get(model["preview_url"])
        assert preview.content[:4] == b"glTF"
        assert len(preview.content) == model["preview_bytes"] <= MODEL_PREVIEW_MAX_BYTES
        assert preview.headers["Cache-Control"] == MODEL_CACHE_CONTROL
    else:
        assert model["preview_url"] is None and model["preview_bytes"] is None
    # AR: a GLB Scene Viewer reads, and a USDZ for Quick Look, each as its step says.
    ar = gateway.get(model["ar_url"])
    assert ar.headers["Content-Type"] == "model/gltf-binary" and ar.content[:4] == b"glTF"
    assert not set(glb_json(ar.content).get("extensionsUsed", [])) & NOT_FOR_SCENE_VIEWER
    assert steps["ar glb"]["bytes_out"] == len(ar.content)
    ios = gateway.get(model["ios_url"])
    assert ios.headers["Content-Type"] == "model/vnd.usdz+zip"
    assert steps["usdz"]["bytes_out"] == len(ios.content)
    with zipfile.ZipFile(io.BytesIO(ios.content)) as package:
        suffixes = [Path(name).suffix for name in package.namelist()]
    assert suffixes[0] in (".usdc", ".usda") and set(suffixes[1:]) <= {".png", ".jpg"}


def put_parts(ticket: dict[str, Any], data: bytes) -> list[dict[str, Any]]:
    """PUT each part of `data` to its URL; the parts as `complete` takes them."""
    size = ticket["multipart"]["part_bytes"]
    parts = []
    for part in ticket["multipart"]["parts"]:
        start = (part["part_number"] - 1) * size
        put = httpx.put(part["put_url"], content=data[start : start + size], timeout=60)
        assert put.status_code == 200, put.text
        parts.append({"part_number": part["part_number"], "etag": put.headers["ETag"]})
    return parts


def test_a_large_file_goes_up_in_parts(gateway: httpx.Client) -> None:
    data = (MODELS / "MaterialsVariantsShoe.glb").read_bytes()
    sku = create_product(gateway)["sku"]
    ticket = start_upload(gateway, sku, len(data)).json()
    assert ticket["put_url"], "a single PUT stays possible"
    assert ticket["multipart"]["part_bytes"] == PART_BYTES
    assert [p["part_number"] for p in ticket["multipart"]["parts"]] == [1, 2]
    parts = put_parts(ticket, data)
    completed = complete_upload(
        gateway,
        f"/api/catalog/products/{sku}/model-uploads/{ticket['upload_id']}/complete",
        {"parts": list(reversed(parts))},  # any order: the service sorts them
    )
    assert completed.status_code == 200, completed.text
    model = completed.json()["model"]
    assert model["original_bytes"] == len(data)
    assert model["bytes"] < len(data) / 10
    assert gateway.get(model["glb_url"]).content[:4] == b"glTF"
    assert 0 < model["preview_bytes"] <= MODEL_PREVIEW_MAX_BYTES


@pytest.fixture
def s3(moto_url: str) -> Any:
    return emulator_client(moto_url, "s3")


def test_parts_are_checked_and_unused_parts_let_go(gateway: httpx.Client, s3: Any) -> None:
    data = b"not a model " * (600 * 1024)  # 7.2 MB: two parts
    sku = create_product(gateway)["sku"]
    ticket = start_upload(gateway, sku, len(data)).json()
    path = f"/api/catalog/products/{sku}/model-uploads/{ticket['upload_id']}/complete"
    parts = put_parts(ticket, data)
    wrong_etag = [parts[0], {**parts[1], "etag": '"0123456789abcdef0123456789abcdef"'}]
    for body in (
        {"parts": wrong_etag},
        {"parts": [parts[0], parts[0]]},
        {"parts": [{"part_number": 0, "etag": "x"}]},
        {"parts": []},
        {"parts": "all of them"},
    ):
        error = assert_error(gateway.post(path, json=body, headers=ADMIN), 400, "invalid_request")
        assert "parts" in error["details"]["fields"][0], error
    # The file sent whole instead: the parts are let go, and the file is judged as usual.
    httpx.put(ticket["put_url"], content=data, headers=ticket["headers"], timeout=60)
    assert_error(gateway.post(path, headers=ADMIN), 400, "invalid_request")
    pending = s3.list_multipart_uploads(Bucket=models_bucket_name("test")).get("Uploads", [])
    assert ticket["upload_id"] not in {u["Key"].split("/")[-1].split(".")[0] for u in pending}
    small = start_upload(gateway, sku, 100).json()
    assert "multipart" not in small
    error = assert_error(
        gateway.post(
            f"/api/catalog/products/{sku}/model-uploads/{small['upload_id']}/complete",
            json={"parts": parts},
            headers=ADMIN,
        ),
        400,
        "invalid_request",
    )
    assert error["details"]["fields"] == ["parts"]
    assert gateway.get(f"/api/catalog/products/{sku}").json()["model"] is None


def unique_glb() -> bytes:
    """A one-triangle model no other test uploads."""
    gltf, x = tiny_gltf(), secrets.randbelow(10**6) / 1000
    gltf["accessors"][0]["min"], gltf["accessors"][0]["max"] = [x, 0, 0], [x + 1, 1, 0]
    return glb(gltf, struct.pack("<9f", x, 0, 0, x + 1, 0, 0, x, 1, 0))


def test_a_replaced_model_is_retired_and_shown_again_when_reused(
    gateway: httpx.Client, s3: Any
) -> None:
    first, second = unique_glb(), unique_glb()
    sku, other = create_product(gateway)["sku"], create_product(gateway)["sku"]
    old = upload(gateway, sku, first).json()["model"]
    key = old["glb_url"].lstrip("/")

    def tags() -> dict[str, str]:
        return object_tags(s3, models_bucket_name("test"), key)

    assert tags() == {}
    assert upload(gateway, sku, second).status_code == 200
    assert tags() == {RETIRED_TAG_KEY: RETIRED_TAG_VALUE}, "no product shows it now"
    assert gateway.get(old["glb_url"]).status_code == 200, "still readable for open pages"
    again = upload(gateway, other, first).json()["model"]
    assert again["glb_url"] == old["glb_url"]
    assert tags() == {}, "shown again: not for Glacier"


TREE = MODELS / "kenney-tree"


@pytest.mark.parametrize(
    ("content_type", "make"),
    [
        ("model/obj", lambda: (TREE / "tree.obj").read_bytes()),
        ("model/gltf+json", lambda: tree_as_gltf(embed=True)["model.gltf"]),
        (
            "application/zip",
            lambda: zipped(
                {
                    "tree/tree.obj": (TREE / "tree.obj").read_bytes(),
                    "tree/tree.mtl": (TREE / "tree.mtl").read_bytes(),
                }
            ),
        ),
        ("application/zip", lambda: zipped(tree_as_gltf(embed=False))),
        ("application/zip", lambda: zipped({"fox.glb": (MODELS / "Fox.glb").read_bytes()})),
    ],
    ids=["obj", "gltf", "zip-obj-mtl", "zip-gltf-bins", "zip-glb"],
)
def test_other_formats_are_converted_to_an_optimised_glb(
    gateway: httpx.Client, content_type: str, make: object
) -> None:
    data = make()  # type: ignore[operator]
    product = create_product(gateway)
    completed = upload(gateway, product["sku"], data, content_type)
    assert completed.status_code == 200, completed.text
    model = completed.json()["model"]
    assert model["original_bytes"] == len(data)
    served = gateway.get(model["glb_url"])
    assert served.content[:4] == b"glTF"
    assert len(served.content) == model["bytes"]


def test_hostile_archives_are_refused(gateway: httpx.Client) -> None:
    product = create_product(gateway)
    for data in (
        zipped({"../../escape.obj": b"v 0 0 0"}),
        zipped({"a.obj": b"v 0 0 0", "b.obj": b"v 1 1 1"}),
        zipped({"m.obj": b"v 0 0 0", "payload.exe": b"MZ"}),
        b"not a zip",
    ):
        assert_error(
            upload(gateway, product["sku"], data, "application/zip"), 400, "invalid_request"
        )
    bomb = zipped({"m.obj": b"\0" * (30 * 1024 * 1024)})
    assert_error(upload(gateway, product["sku"], bomb, "application/zip"), 413, "too_large")
    assert gateway.get(f"/api/catalog/products/{product['sku']}").json()["model"] is None


def test_absurd_declared_sizes_are_a_413_and_keep_the_current_model(
    gateway: httpx.Client,
) -> None:
    product = create_product(gateway)
    good = upload(gateway, product["sku"], (MODELS / "Fox.glb").read_bytes()).json()
    for bomb in (image_bomb_glb(), vertex_bomb_glb()):
        error = assert_error(upload(gateway, product["sku"], bomb), 413, "too_large")
        assert any("at most" in e for e in error["details"]["errors"]), error
    assert gateway.get(f"/api/catalog/products/{product['sku']}").json() == good


def test_an_obj_with_no_geometry_is_a_400(gateway: httpx.Client) -> None:
    product = create_product(gateway)
    error = assert_error(
        upload(gateway, product["sku"], b"# just a comment\n", "model/obj"),
        400,
        "invalid_request",
    )
    assert error["details"]["errors"]


def test_the_same_file_gets_the_same_immutable_key(gateway: httpx.Client) -> None:
    data = (MODELS / "Fox.glb").read_bytes()
    first, second = create_product(gateway), create_product(gateway)
    a = upload(gateway, first["sku"], data).json()["model"]["glb_url"]
    b = upload(gateway, second["sku"], data).json()["model"]["glb_url"]
    assert a == b


def test_an_invalid_file_is_a_400_and_keeps_the_current_model(gateway: httpx.Client) -> None:
    product = create_product(gateway)
    good = upload(gateway, product["sku"], (MODELS / "Fox.glb").read_bytes()).json()
    for bad in (
        b"not a model at all",
        b"glTF" + b"\x02\x00\x00\x00" + b"\xff" * 64,
        broken_image_glb(),
    ):
        error = assert_error(upload(gateway, product["sku"], bad), 400, "invalid_request")
        assert error["details"]["errors"]
        assert gateway.get(f"/api/catalog/products/{product['sku']}").json() == good


def test_an_uploads_status_says_how_it_went(gateway: httpx.Client) -> None:
    sku = create_product(gateway)["sku"]
    ticket = start_upload(gateway, sku, 18).json()
    path = f"/api/catalog/products/{sku}/model-uploads/{ticket['upload_id']}"
    pending = gateway.get(path, headers=ADMIN)
    assert pending.status_code == 200
    assert pending.json()["status"] == "pending" and pending.json()["error"] is None
    assert pending.json()["bytes"] == 18 and pending.json()["created_at"].endswith("Z")
    httpx.put(ticket["put_url"], content=b"not a model at all", headers=ticket["headers"])
    assert_error(gateway.post(path + "/complete", headers=ADMIN), 400, "invalid_request")
    failed = gateway.get(path, headers=ADMIN).json()
    assert failed["status"] == "failed" and failed["error"]
    assert_error(gateway.get(path), 401, "unauthorized")
    for unknown in ("up_nope", "up_" + "x" * 60, "%E2%82%AC" * 20):
        assert_error(
            gateway.get(path.replace(ticket["upload_id"], unknown), headers=ADMIN),
            404,
            "not_found",
        )


def test_a_client_that_hangs_up_does_not_stop_the_processing(gateway: httpx.Client) -> None:
    data = (MODELS / "Mixer.glb").read_bytes()
    sku = create_product(gateway)["sku"]
    ticket = start_upload(gateway, sku, len(data)).json()
    httpx.put(ticket["put_url"], content=data, headers=ticket["headers"], timeout=60)
    path = f"/api/catalog/products/{sku}/model-uploads/{ticket['upload_id']}"
    with pytest.raises(httpx.ReadTimeout):
        gateway.post(path + "/complete", headers=ADMIN, timeout=0.5)  # optimise + poster: seconds
    deadline = time.monotonic() + 120
    while (status := gateway.get(path, headers=ADMIN).json()["status"]) == "processing":
        assert time.monotonic() < deadline, "processing never finished"
        time.sleep(0.5)
    assert status == "done"
    model = gateway.get(f"/api/catalog/products/{sku}").json()["model"]
    assert model["original_bytes"] == len(data) and model["preview_url"]


def test_upload_requests_are_checked(gateway: httpx.Client) -> None:
    sku = create_product(gateway)["sku"]
    assert_error(start_upload(gateway, sku, 300 * 1024 * 1024), 413, "too_large")
    assert_error(
        start_upload(gateway, sku, 10, content_type="image/png"), 415, "unsupported_media_type"
    )
    for bad in ({"bytes": 0}, {"bytes": "10"}, {"filename": "../../x.glb"}, {"filename": ""}):
        assert_error(start_upload(gateway, sku, 10, **bad), 400, "invalid_request")
    assert_error(start_upload(gateway, unique_sku(), 10), 404, "not_found")
    unauthorised = gateway.post(
        f"/api/catalog/products/{sku}/model-uploads",
        json={"filename": "m.glb", "content_type": "model/gltf-binary", "bytes": 10},
    )
    assert_error(unauthorised, 401, "unauthorized")


def test_complete_checks_what_was_uploaded(gateway: httpx.Client) -> None:
    sku = create_product(gateway)["sku"]
    assert_error(
        gateway.post(f"/api/catalog/products/{sku}/model-uploads/up_nope/complete", headers=ADMIN),
        404,
        "not_found",
    )
    ticket = start_upload(gateway, sku, 100).json()
    path = f"/api/catalog/products/{sku}/model-uploads/{ticket['upload_id']}/complete"
    assert_error(gateway.post(path, headers=ADMIN), 400, "invalid_request")  # nothing PUT yet
    httpx.put(ticket["put_url"], content=b"x" * 50, headers=ticket["headers"])
    error = assert_error(gateway.post(path, headers=ADMIN), 400, "invalid_request")
    assert error["details"]["fields"] == ["bytes"]
    other = create_product(gateway)["sku"]
    assert_error(
        gateway.post(
            f"/api/catalog/products/{other}/model-uploads/{ticket['upload_id']}/complete",
            headers=ADMIN,
        ),
        404,
        "not_found",
    )
