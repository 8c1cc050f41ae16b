"""Unpacking an uploaded zip without trusting it: no paths outside the folder, no links, only
the file types a model is made of, and bounds on entries, total size and compression ratio,
so a zip bomb is refused before it is inflated."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path, PurePosixPath

from modelworker.limits import Limits
from modelworker.pipeline import InvalidUpload, UploadTooLarge

MODEL_SUFFIXES = (".glb", ".gltf", ".obj")
ALLOWED_SUFFIXES = frozenset(
    {*MODEL_SUFFIXES, ".bin", ".mtl", ".png", ".jpg", ".jpeg", ".webp", ".ktx2"}
)


def _refuse(message: str) -> InvalidUpload:
    return InvalidUpload([f"the zip cannot be used: {message}"])


def _safe_name(name: str) -> PurePosixPath:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or not path.parts or ":" in path.parts[0]:
        raise _refuse(f"{name!r} points outside the archive")
    return path


def unpack(archive: Path, folder: Path, limits: Limits) -> Path:
    """Unpack `archive` into `folder`; the one model file in it (.glb, .gltf or .obj)."""
    try:
        zipped = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise _refuse("it is not a zip file") from exc
    with zipped:
        entries = [e for e in zipped.infolist() if not e.is_dir()]
        if len(entries) > limits.zip_entries:
            raise _refuse(f"more than {limits.zip_entries} files")
        total = 0
        for entry in entries:
            _safe_name(entry.filename)
            if stat.S_ISLNK(entry.external_attr >> 16):
                raise _refuse(f"{entry.filename!r} is a link")
            if PurePosixPath(entry.filename).suffix.lower() not in ALLOWED_SUFFIXES:
                raise _refuse(f"{entry.filename!r} is not part of a 3D model")
            if entry.file_size > limits.zip_ratio * max(entry.compress_size, 1):
                ratio = limits.zip_ratio
                raise UploadTooLarge([f"{entry.filename!r} inflates more than {ratio} times"])
            total += entry.file_size
            if total > limits.zip_bytes:
                raise UploadTooLarge([f"the zip holds more than {limits.zip_bytes} bytes"])
        models = [e for e in entries if PurePosixPath(e.filename).suffix.lower() in MODEL_SUFFIXES]
        if len(models) != 1:
            raise _refuse(f"it holds {len(models)} model files (.glb, .gltf, .obj), not one")
        root = folder.resolve()
        for entry in entries:
            target = (root / _safe_name(entry.filename)).resolve()
            if not target.is_relative_to(root):
                raise _refuse(f"{entry.filename!r} points outside the archive")
            target.parent.mkdir(parents=True, exist_ok=True)
            # Copy at most the declared size: a lying header cannot inflate past the bounds.
            with zipped.open(entry) as source, target.open("wb") as out:
                remaining = entry.file_size
                while chunk := source.read(min(1024 * 1024, remaining + 1)):
                    remaining -= len(chunk)
                    if remaining < 0:
                        raise _refuse(f"{entry.filename!r} is larger than it says")
                    out.write(chunk)
        return (root / _safe_name(models[0].filename)).resolve()
