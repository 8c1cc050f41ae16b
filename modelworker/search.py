"""Quality-targeted optimisation: each upload is optimised with the smallest settings that keep
its look. The ladder's rungs are tried from the smallest upward; each candidate is rendered by
the storefront's viewer from several orbits beside the rendered original, and the first that
meets the floor (quality.good_enough on its worst orbit) is published. One texture size for
every model is too little for a fine weave and more than a flat-coloured toy needs.

A heavy mesh, or a model whose bytes are all geometry (no textures), then gets one more try,
simplified within a small error, kept only when its renders still meet the floor. The preview
is the smallest candidate within its byte budget that meets the preview's own floor; when
none does, the page shows the poster until the model arrives. The search is bounded: at most
one render per rung, and Limits.search_seconds, past which the model's own textures are
published unmeasured."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import shutil
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from modelworker.pipeline import Optimised, Pipeline, PipelineFailed, Rung
from modelworker.quality import MIN_PREVIEW_SSIM, compare_orbits, good_enough

log = logging.getLogger("petshore.modelworker.search")

# Ordered by the bytes they publish. The last rung keeps the model's own images: the most a
# model can need, short of not being optimised at all.
LADDER: tuple[Rung | None, ...] = (
    Rung(colour=512, normal=512, other=256, quality=80),
    Rung(colour=1024, normal=512, other=512, quality=80),
    Rung(colour=1024, normal=1024, other=512, quality=90),
    Rung(colour=2048, normal=2048, other=1024, quality=90),
    Rung(colour=4096, normal=4096, other=2048, quality=95),
    None,
)
# Front (the viewer's default camera, the poster's) and two from other sides and heights: what
# a shopper sees turning the model, at the product page's viewer height (styles.css). A
# close-up at twice the size was tried: it asks 2048 px textures of the demo shoe (2.9 MB
# instead of 0.4), which a 1.6 Mbps phone waits 15 s for.
ORBITS = ("0deg 75deg 105%", "120deg 55deg 105%", "240deg 100deg 105%")
RENDER_PX = 576
# Meshes with more triangles than this are worth a simplified try (one more render): below
# it, geometry is a small part of the bytes, unless the model has no textures at all.
SIMPLIFY_FROM_TRIANGLES = 50_000
SIMPLIFY_ERROR = 0.0005


@dataclass(frozen=True)
class Trial:
    file: Path
    rung: Rung | None
    bytes: int
    psnr: float | None = None  # None: not measured (no render)
    ssim: float | None = None

    @property
    def meets_floor(self) -> bool:
        return self.psnr is not None and self.ssim is not None and good_enough(self.psnr, self.ssim)

    def settings(self) -> str:
        return self.rung.describe() if self.rung else "the model's own textures"

    def report(self) -> dict[str, Any]:
        """The trial as the search's step lists it (`tried`; the chosen one's figures)."""
        return {
            "settings": self.settings(),
            "bytes": self.bytes,
            "psnr": None if self.psnr is None else round(self.psnr, 2),
            "ssim": None if self.ssim is None else round(self.ssim, 4),
        }


@dataclass(frozen=True)
class Choice:
    model: Path
    preview: Path | None
    steps: list[dict[str, Any]]


@dataclass
class _Search:
    pipeline: Pipeline
    source: Path
    work: Path
    renders: int = 0
    pictured: set[Path] = field(default_factory=set)  # models rendered from every orbit

    @property
    def original(self) -> Path:
        return self.work / "original.png"

    async def trial(
        self, index: int, rung: Rung | None, preview_budget: int | None = None
    ) -> tuple[Trial, Optimised]:
        """The candidate of `rung` (and, with a `preview_budget`, the preview candidates
        within it), rendered; the original is rendered in the same browser the first time. A
        model the viewer cannot show is a trial without scores."""
        candidate = self.work / f"candidate-{index}.glb"
        folder = self.work / "previews" if preview_budget else None
        if folder:
            folder.mkdir(exist_ok=True)
        made = await self.pipeline.optimise(self.source, candidate, rung, folder, preview_budget)
        # The previews that fit if this candidate is published are rendered with it; the rest
        # only if a larger one is (_preview).
        budget = self.pipeline.limits.preview_share * made.output_bytes
        previews = [p.file for p in made.previews if p.bytes <= budget]
        if not await self.render([candidate, *previews]):
            return Trial(candidate, rung, made.output_bytes), made
        return Trial(candidate, rung, made.output_bytes, *self.scores(candidate)), made

    async def render(self, models: list[Path]) -> bool:
        """Pictures of `models` (and of the original, the first time) from every orbit;
        False when the viewer could not show them."""
        if not self.renders:
            models = [self.source, *models]
        pairs = [(m, self.original if m == self.source else m.with_suffix(".png")) for m in models]
        try:
            await self.pipeline.render(pairs, RENDER_PX, ORBITS)
        except PipelineFailed as exc:
            log.warning("the search could not render", extra={"error": str(exc)})
            return False
        self.renders += 1
        self.pictured.update(models)
        return True

    def scores(self, model: Path) -> tuple[float, float]:
        return compare_orbits(self.original, model.with_suffix(".png"), len(ORBITS))


async def choose(pipeline: Pipeline, source: Path, work: Path) -> Choice:
    """The smallest optimised model of `source` that looks like it, and its preview when it
    needs one; the steps' reports, the search's with every candidate tried."""
    started = time.monotonic()
    search = _Search(pipeline, source, work)
    limits = pipeline.limits
    trials: list[Trial] = []
    made: list[Optimised] = []
    # Preview candidates come with the first rung, rendered in the same browser, for a model
    # that may optimise to more than the budget.
    large = source.stat().st_size > limits.preview_bytes
    for index, rung in enumerate(LADDER):
        budget = limits.preview_bytes if index == 0 and large else None
        trial, optimised = await search.trial(index, rung, budget)
        trials.append(trial)
        made.append(optimised)
        # Without textures every rung makes the same model; without a render, none is known
        # to be better.
        if trial.meets_floor or not optimised.textures or trial.psnr is None:
            break
        # The next rung costs at least what this one did: stop before it would overrun.
        elapsed = time.monotonic() - started
        if elapsed * (index + 2) / (index + 1) > limits.search_seconds:
            break
    chosen = next((t for t in trials if t.meets_floor), trials[-1])
    geometry_heavy = made[0].triangles > SIMPLIFY_FROM_TRIANGLES or not made[0].textures
    if chosen.meets_floor and chosen.rung and geometry_heavy:
        rung = replace(chosen.rung, simplify=SIMPLIFY_ERROR)
        simpler, optimised = await search.trial(len(LADDER), rung)
        trials.append(simpler)
        made.append(optimised)
        if simpler.meets_floor and simpler.bytes < chosen.bytes:
            chosen = simpler
    steps = made[trials.index(chosen)].steps
    if not chosen.meets_floor and chosen.rung and chosen.psnr is not None:
        # Out of time before the last rung: the model's own textures look no worse.
        kept = work / "kept.glb"
        steps = (await pipeline.optimise(source, kept, None)).steps
        chosen = Trial(kept, None, kept.stat().st_size)
    steps.append(
        {
            "name": "quality search",
            "ms": round((time.monotonic() - started) * 1000),
            "bytes_in": source.stat().st_size,
            **chosen.report(),
            "bytes_out": chosen.bytes,
            "met_floor": chosen.meets_floor,
            "renders": search.renders,
            "tried": [t.report() for t in trials],
        }
    )
    preview = None
    if chosen.bytes > limits.preview_bytes:
        preview, step = await _preview(search, made[0], trials, chosen)
        steps.append(step)
    return Choice(chosen.file, preview, steps)


async def _preview(
    search: _Search, first: Optimised, trials: list[Trial], chosen: Trial
) -> tuple[Path | None, dict[str, Any]]:
    """The smallest candidate within the preview's budget that meets its floor: the preview
    ladder's (optimise.mjs, made with the first rung) and the search's own."""
    limits = search.pipeline.limits
    budget = min(limits.preview_bytes, int(chosen.bytes * limits.preview_share))
    candidates = [(p.file, p.bytes, _preview_settings(p.rung)) for p in first.previews]
    candidates += [(t.file, t.bytes, t.settings()) for t in trials if t is not chosen]
    unseen = [
        file for file, size, _ in candidates if size <= budget and file not in search.pictured
    ]
    if unseen and search.renders:
        await search.render(unseen)
    fitting = [
        (size, search.scores(file)[1], file, settings)
        for file, size, settings in candidates
        if size <= budget and file in search.pictured
    ]
    tried = [
        {"settings": s, "bytes": size, "psnr": None, "ssim": round(ssim, 4)}
        for size, ssim, _, s in fitting
    ]
    step = {"name": "preview", "ms": 0, "bytes_in": chosen.bytes, "tried": tried}
    passing = sorted((c for c in fitting if c[1] >= MIN_PREVIEW_SSIM), key=lambda c: c[0])
    if not passing:
        error = (
            f"no preview within {budget} bytes looks like the model (SSIM ≥ "
            f"{MIN_PREVIEW_SSIM}): the poster shows until the model arrives"
        )
        return None, {**step, "bytes_out": None, "error": error}
    size, ssim, file, settings = passing[0]
    chose = {"bytes_out": size, "settings": settings, "psnr": None, "ssim": round(ssim, 4)}
    return file, {**step, **chose}


def _preview_settings(rung: dict[str, Any]) -> str:
    """A preview candidate's rung (optimise.mjs's PREVIEW_LADDER), in words."""
    shape = "not simplified" if rung["ratio"] >= 1 else f"simplified within {rung['error']:g}"
    return f"{shape}, textures {rung['textureSize']} px"


def main(argv: list[str]) -> int:
    """`python -m modelworker.search <model.glb> <folder>`: the search on one model, as the
    worker runs it (bench/models.py times it); prints the choice and the steps as JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("model", type=Path)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args(argv)
    args.folder.mkdir(parents=True, exist_ok=True)
    pipeline = Pipeline(shutil.which("node") or "node", 300.0, 1, args.chromium)
    choice = asyncio.run(choose(pipeline, args.model, args.folder))
    preview = str(choice.preview) if choice.preview else None
    print(json.dumps({"model": str(choice.model), "preview": preview, "steps": choice.steps}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
