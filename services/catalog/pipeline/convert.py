"""`python -m services.catalog.pipeline.convert <model.obj> <out.glb>`: OBJ (with its MTL and
textures beside it) to GLB, with trimesh. Run as its own process by the pipeline runner, so
a hostile file costs that process, not the service. Exit code 2: not a usable model."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import trimesh


def convert(source: Path, target: Path) -> None:
    scene = trimesh.load(str(source), force="scene", process=False)
    if not scene.geometry or not any(len(g.vertices) for g in scene.geometry.values()):
        raise ValueError("the OBJ file has no geometry")
    target.write_bytes(scene.export(file_type="glb"))


def main(argv: list[str]) -> int:
    source, target = Path(argv[0]), Path(argv[1])
    try:
        convert(source, target)
    except Exception as exc:  # any parser failure means the file is not usable
        print(json.dumps({"ok": False, "reason": "invalid", "errors": [f"OBJ: {exc}"]}))
        return 2
    print(json.dumps({"ok": True}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
