"""Models made in code, for tests and benchmarks that need a valid file of a known shape."""

from __future__ import annotations

import json
import struct
from typing import Any


def glb(gltf: dict[str, Any], binary: bytes) -> bytes:
    """A GLB of a glTF document and its binary chunk."""
    text = json.dumps(gltf, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 4)
    binary += b"\0" * (-len(binary) % 4)
    chunks = struct.pack("<I4s", len(text), b"JSON") + text
    chunks += struct.pack("<I4s", len(binary), b"BIN\x00") + binary
    return struct.pack("<4sII", b"glTF", 2, 12 + len(chunks)) + chunks


TRIANGLE = struct.pack("<9f", 0, 0, 0, 1, 0, 0, 0, 1, 0)


def tiny_glb() -> bytes:
    """A valid GLB holding one triangle: the least a model can cost."""
    return glb(tiny_gltf(), TRIANGLE)


def tiny_gltf() -> dict[str, Any]:
    """The document of tiny_glb() (its binary chunk is TRIANGLE), for tests to build on."""
    positions = TRIANGLE
    return {
        "asset": {"version": "2.0"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0}}]}],
        "buffers": [{"byteLength": len(positions)}],
        "bufferViews": [{"buffer": 0, "byteOffset": 0, "byteLength": len(positions)}],
        "accessors": [
            {
                "bufferView": 0,
                "componentType": 5126,
                "count": 3,
                "type": "VEC3",
                "min": [0, 0, 0],
                "max": [1, 1, 0],
            }
        ],
    }
