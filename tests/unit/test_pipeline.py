"""The model pipeline's runner: its report is read strictly, and the Node process it starts
really validates and optimises (a tiny model made in code, and a file that is no model)."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest

from devstack.samples import tiny_glb
from services.catalog.pipeline import InvalidModel, Pipeline, PipelineFailed, parse_report


def test_report_parsing() -> None:
    ok = json.dumps({"ok": True, "input_bytes": 10, "output_bytes": 5, "steps": []}).encode()
    assert parse_report(0, b"note\n" + ok, b"").output_bytes == 5
    with pytest.raises(InvalidModel) as invalid:
        parse_report(2, b'{"ok": false, "reason": "invalid", "errors": ["E1"]}', b"")
    assert invalid.value.errors == ["E1"]
    with pytest.raises(PipelineFailed):
        parse_report(1, b'{"ok": false, "reason": "error", "errors": ["boom"]}', b"")
    with pytest.raises(PipelineFailed):
        parse_report(134, b"", b"Segmentation fault")


def test_the_node_pipeline_validates_and_optimises(tmp_path: Path) -> None:
    node = shutil.which("node")
    assert node, "make test installs Node.js"
    pipeline = Pipeline(node, timeout=60, workers=1)
    source = tmp_path / "tiny.glb"
    source.write_bytes(tiny_glb())
    result = asyncio.run(pipeline.optimise(source, tmp_path / "out.glb"))
    assert result.input_bytes == len(tiny_glb())
    assert (tmp_path / "out.glb").read_bytes()[:4] == b"glTF"
    assert [s["name"] for s in result.steps][-1] == "meshopt", "compression comes last"
    junk = tmp_path / "junk.glb"
    junk.write_bytes(b"glTF\x02\x00\x00\x00" + b"\x00" * 32)
    with pytest.raises(InvalidModel):
        asyncio.run(pipeline.optimise(junk, tmp_path / "never.glb"))
    assert not (tmp_path / "never.glb").exists()


def test_a_pipeline_that_overruns_is_stopped(tmp_path: Path) -> None:
    sleeper = tmp_path / "sleep.sh"
    sleeper.write_text("#!/bin/sh\nsleep 30\n")
    sleeper.chmod(0o755)
    pipeline = Pipeline(str(sleeper), timeout=0.5, workers=1)
    with pytest.raises(PipelineFailed, match="longer than"):
        asyncio.run(pipeline.optimise(tmp_path / "a.glb", tmp_path / "b.glb"))
