"""`python -m modelworker.convert <model.obj> <out.glb> [--memory-mb N]`: OBJ
(with its MTL and textures beside it) to GLB, with trimesh. Run as its own process by the
pipeline runner, so a hostile file costs that process, not the worker; the process caps its
own address space, so an OBJ too large to convert ends in a clear error, not in the machine
swapping. Exit code 2: not a usable model."""

from __future__ import annotations

import argparse
import resource
import sys
from pathlib import Path

import trimesh

from modelworker.pipeline import write_report


def convert(source: Path, target: Path) -> None:
    scene = trimesh.load(str(source), force="scene", process=False)
    if not scene.geometry or not any(len(g.vertices) for g in scene.geometry.values()):
        raise ValueError("the OBJ file has no geometry")
    target.write_bytes(scene.export(file_type="glb"))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("source", type=Path)
    parser.add_argument("target", type=Path)
    parser.add_argument("--memory-mb", type=int, required=True)
    args = parser.parse_args(argv)
    limit = args.memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        convert(args.source, args.target)
    except MemoryError:
        return write_report("too_large", f"OBJ: converting it needs more than {args.memory_mb} MB")
    except Exception as exc:  # any parser failure means the file is not usable
        return write_report("invalid", f"OBJ: {exc}")
    return write_report()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
