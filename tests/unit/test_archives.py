"""Unpacking uploaded zips: every way out of the folder, and every bomb, is refused."""

from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path

import pytest

from modelworker.archives import unpack
from modelworker.limits import Limits
from modelworker.pipeline import InvalidUpload, UploadTooLarge

LIMITS = Limits()


def make_zip(path: Path, files: dict[str, bytes], *, links: tuple[str, ...] = ()) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
        for name in links:
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            z.writestr(info, "/etc/passwd")
    return path


def test_unpacks_a_model_and_its_files(tmp_path: Path) -> None:
    archive = make_zip(
        tmp_path / "a.zip",
        {"shoe/shoe.gltf": b"{}", "shoe/shoe.bin": b"\0" * 8, "shoe/tex/a.png": b"png"},
    )
    model = unpack(archive, tmp_path / "out", LIMITS)
    assert model == (tmp_path / "out" / "shoe" / "shoe.gltf").resolve()
    assert (tmp_path / "out" / "shoe" / "tex" / "a.png").read_bytes() == b"png"


@pytest.mark.parametrize(
    "files",
    [
        {"../evil.obj": b"v 0 0 0"},
        {"/abs/evil.obj": b"v 0 0 0"},
        {"ok.obj": b"v 0 0 0", "..\\..\\evil.png": b"x"},
        {"model.obj": b"v", "run.sh": b"#!/bin/sh"},
        {"a.obj": b"v", "b.glb": b"glTF"},
        {"texture.png": b"png"},
    ],
)
def test_refuses_escapes_strangers_and_ambiguity(tmp_path: Path, files: dict[str, bytes]) -> None:
    with pytest.raises(InvalidUpload, match="the zip cannot be used"):
        unpack(make_zip(tmp_path / "bad.zip", files), tmp_path / "out", LIMITS)
    assert not (tmp_path / "evil.obj").exists()


def test_refuses_links(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "l.zip", {"m.obj": b"v"}, links=("tex.png",))
    with pytest.raises(InvalidUpload, match="the zip cannot be used"):
        unpack(archive, tmp_path / "out", LIMITS)


def test_refuses_bombs_before_inflating_them(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "bomb.zip", {"m.obj": b"\0" * (20 * 1024 * 1024)})
    with pytest.raises(UploadTooLarge):
        unpack(archive, tmp_path / "out", LIMITS)
    assert not (tmp_path / "out" / "m.obj").exists()
    many = make_zip(tmp_path / "many.zip", {f"t{i}.png": b"x" for i in range(30)} | {"m.obj": b"v"})
    with pytest.raises(InvalidUpload, match="the zip cannot be used"):
        unpack(many, tmp_path / "out2", Limits(zip_entries=10))
    big = make_zip(tmp_path / "big.zip", {"m.obj": bytes(range(256)) * 64})
    with pytest.raises(UploadTooLarge):
        unpack(big, tmp_path / "out3", Limits(zip_bytes=1000))


def test_refuses_what_is_not_a_zip(tmp_path: Path) -> None:
    path = tmp_path / "x.zip"
    path.write_bytes(b"PK but not really" + io.BytesIO(b"junk").read())
    with pytest.raises(InvalidUpload, match="the zip cannot be used"):
        unpack(path, tmp_path / "out", LIMITS)
