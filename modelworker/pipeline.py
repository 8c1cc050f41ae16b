"""The model pipeline's runner: each step is a process of its own (OBJ conversion in Python,
validation and optimisation in Node.js with glTF-Transform and the Khronos validator, the
poster in headless Chromium, a product photo's decoding and variants with Pillow), bounded
in time and memory by `Limits`, a limited number at once, so a hostile file costs that process
and nothing else."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from modelworker.limits import Limits

SCRIPT = Path(__file__).resolve().parent / "optimise.mjs"
AR_SCRIPT = SCRIPT.with_name("ar.mjs")
CONVERTER = "modelworker.convert"
USDZ = "modelworker.usdz"
RENDERER = "modelworker.render"
IMAGING = "modelworker.imaging"


class InvalidUpload(Exception):
    """The file is not a valid 3D model, or not a decodable photo; `errors` say why."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


class UploadTooLarge(InvalidUpload):
    """The file declares more (pixels, vertices, elements, bytes) than the pipeline takes."""


class PipelineFailed(Exception):
    """The pipeline could not finish (timeout, crash): nothing about the file is known."""


@dataclass(frozen=True)
class Rung:
    """One optimisation run's settings: the largest side, in pixels, of each map role's
    images (colour: base colour and emissive; normal; other: occlusion, roughness, metalness,
    transmission...), their WebP quality, and how far simplification may move the surface (a
    fraction of the mesh's size; 0: not simplified)."""

    colour: int
    normal: int
    other: int
    quality: int
    simplify: float = 0.0

    def describe(self) -> str:
        simplified = f", simplified within {self.simplify:g}" if self.simplify else ""
        return (
            f"colour {self.colour} px, normal {self.normal} px, other {self.other} px, "
            f"WebP quality {self.quality}{simplified}"
        )


@dataclass(frozen=True)
class PreviewCandidate:
    file: Path
    bytes: int
    rung: dict[str, Any]  # how it was made: simplification ratio and error, texture size


@dataclass(frozen=True)
class Optimised:
    input_bytes: int
    output_bytes: int
    textures: int = 0  # images in the model
    triangles: int = 0
    previews: list[PreviewCandidate] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Pipeline:
    node: str
    timeout: float
    workers: int
    chromium: str = ""  # empty: the Chromium that Playwright installed
    limits: Limits = field(default_factory=Limits)
    _slots: asyncio.Semaphore | None = None

    def _semaphore(self) -> asyncio.Semaphore:
        # Created on first use, inside the worker's event loop.
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.workers)
        return self._slots

    async def _run(self, *command: str) -> tuple[int | None, bytes, bytes]:
        async with self._semaphore():
            process = await asyncio.create_subprocess_exec(
                *command,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
            )
            try:
                out, err = await asyncio.wait_for(process.communicate(), self.timeout)
            except TimeoutError as exc:
                raise PipelineFailed(f"processing took longer than {self.timeout:.0f} s") from exc
            finally:
                if process.returncode is None:
                    # Timed out, or the worker is stopping (its job cancelled): the whole
                    # process group goes, so nothing it started keeps running or keeps the
                    # pipes open.
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, signal.SIGKILL)
                    await process.wait()
        return process.returncode, out, err

    async def convert_obj(self, source: Path, target: Path) -> None:
        """OBJ (+MTL, textures) to GLB, in a Python process of its own."""
        memory = ["--memory-mb", str(self.limits.memory_mb)]
        parse_report(
            *await self._run(sys.executable, "-m", CONVERTER, str(source), str(target), *memory)
        )

    async def render_poster(self, model: Path, target: Path) -> None:
        """A WebP picture of the model as the storefront's viewer shows it."""
        await self.render([(model, target)], self.limits.poster_px)

    async def render(
        self, pairs: list[tuple[Path, Path]], size: int, orbits: tuple[str, ...] = ()
    ) -> None:
        """A picture of each (model, picture) pair from each of `orbits` (see render.py)."""
        read_report(*await self._run(*render_command(pairs, size, self.chromium, orbits)))

    async def make_ar(self, model: Path, target: Path) -> dict[str, Any]:
        """Scene Viewer's GLB of a published `model` (plain glTF 2.0, PNG and JPEG
        textures, validated); ar.mjs's report."""
        return read_report(
            *await self._run(
                self.node,
                f"--max-old-space-size={self.limits.memory_mb}",
                str(AR_SCRIPT),
                str(model),
                str(target),
            )
        )

    async def make_usdz(self, ar_model: Path, target: Path) -> dict[str, Any]:
        """Quick Look's USDZ of the AR GLB, passed by OpenUSD's compliance checker (ARKit);
        modelworker.usdz's report."""
        memory = ["--memory-mb", str(self.limits.memory_mb)]
        return read_report(
            *await self._run(sys.executable, "-m", USDZ, str(ar_model), str(target), *memory)
        )

    async def process_photo(self, source: Path, out: Path) -> dict[str, Any]:
        """A photo decoded, turned upright and stripped, written to `out` as a main image and
        its variants; what was written (modelworker.imaging's report)."""
        limits = json.dumps(self.limits.for_photos())
        report = read_report(
            *await self._run(
                sys.executable, "-m", IMAGING, str(source), str(out), "--limits", limits
            )
        )
        return dict(report["photo"])

    async def optimise(
        self,
        source: Path,
        target: Path,
        rung: Rung | None,
        previews: Path | None = None,
        preview_budget: int | None = None,
    ) -> Optimised:
        """Validate a .glb or .gltf (with its files beside it) and write the optimised GLB
        made with `rung`'s settings (None: the model's own images, not simplified); and, with
        `previews` (a folder), preview candidates within `preview_budget` bytes there."""
        limits = self.limits
        asked = ["--previews", str(previews), "--preview-bytes", str(preview_budget)]
        return parse_report(
            *await self._run(
                self.node,
                f"--max-old-space-size={limits.memory_mb}",
                str(SCRIPT),
                str(source),
                str(target),
                "--limits",
                json.dumps(limits.for_optimiser()),
                "--rung",
                json.dumps(asdict(rung)) if rung else "keep",
                *(asked if previews else []),
            )
        )


def render_command(
    pairs: list[tuple[Path, Path]], size: int, chromium: str, orbits: tuple[str, ...] = ()
) -> list[str]:
    """The renderer's command line: a picture of each (model, picture) pair from each of
    `orbits` (none: the viewer's default camera), from one browser (`chromium` empty: the one
    Playwright installed)."""
    return [
        sys.executable,
        "-m",
        RENDERER,
        *(str(path) for pair in pairs for path in pair),
        "--size",
        str(size),
        "--chromium",
        chromium,
        *(part for orbit in orbits for part in ("--orbit", orbit)),
    ]


def orbit_picture(picture: Path, index: int) -> Path:
    """Where the renderer writes `picture` as seen from its `index`th orbit."""
    return picture if index == 0 else picture.with_name(f"{picture.stem}-{index}{picture.suffix}")


def write_report(reason: str | None = None, error: str = "", **found: Any) -> int:
    """Print a pipeline process's report as read_report reads it (no reason: success, with
    what the step `found`), and return the process's exit code: 2 for a fault of the file, 1
    for a failure."""
    if reason is None:
        print(json.dumps({"ok": True, **found}))
        return 0
    print(json.dumps({"ok": False, "reason": reason, "errors": [error]}))
    return 2 if reason in ("invalid", "too_large") else 1


def read_report(returncode: int | None, out: bytes, err: bytes) -> dict[str, Any]:
    """A successful step's report; a failed one's as InvalidUpload, UploadTooLarge or
    PipelineFailed."""
    try:
        report = json.loads(out.decode().strip().splitlines()[-1])
    except (ValueError, IndexError) as exc:
        raise PipelineFailed(f"the pipeline crashed: {err.decode()[-500:]}") from exc
    if report.get("ok") and returncode == 0:
        return dict(report)
    if report.get("reason") == "too_large":
        raise UploadTooLarge(list(report.get("errors") or ["the file is too large"]))
    if report.get("reason") == "invalid":
        raise InvalidUpload(list(report.get("errors") or ["not a file this shop takes"]))
    raise PipelineFailed("; ".join(report.get("errors") or ["the pipeline failed"]))


def parse_report(returncode: int | None, out: bytes, err: bytes) -> Optimised:
    """A model step's report."""
    report = read_report(returncode, out, err)
    return Optimised(
        report.get("input_bytes", 0),
        report.get("output_bytes", 0),
        report.get("textures", 0),
        report.get("triangles", 0),
        [
            PreviewCandidate(Path(made["file"]), made["bytes"], made["rung"])
            for made in report.get("previews", [])
        ],
        report.get("steps", []),
    )
