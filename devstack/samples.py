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


TEXTURE_SLOTS = ["baseColor", "metallicRoughness", "normal", "occlusion", "emissive"]


def textured_glb(images: list[bytes], mime_type: str) -> bytes:
    """One triangle with texture coordinates, and a material using `images` in the order of
    TEXTURE_SLOTS (the colour first, then the detail maps real product models carry)."""
    gltf = tiny_gltf()
    uvs = struct.pack("<6f", 0, 0, 1, 0, 0, 1)
    binary = TRIANGLE + uvs
    gltf["bufferViews"].append({"buffer": 0, "byteOffset": len(TRIANGLE), "byteLength": len(uvs)})
    gltf["accessors"].append({"bufferView": 1, "componentType": 5126, "count": 3, "type": "VEC2"})
    primitive = gltf["meshes"][0]["primitives"][0]
    primitive["attributes"]["TEXCOORD_0"], primitive["material"] = 1, 0
    gltf["images"], gltf["textures"] = [], []
    for image in images:
        gltf["bufferViews"].append(
            {"buffer": 0, "byteOffset": len(binary), "byteLength": len(image)}
        )
        binary += image + b"\0" * (-len(image) % 4)
        gltf["images"].append({"bufferView": len(gltf["bufferViews"]) - 1, "mimeType": mime_type})
        gltf["textures"].append({"source": len(gltf["textures"])})
    pbr: dict[str, Any] = {}
    material: dict[str, Any] = {"pbrMetallicRoughness": pbr}
    for index, slot in enumerate(TEXTURE_SLOTS[: len(images)]):
        inside = pbr if slot in ("baseColor", "metallicRoughness") else material
        inside[f"{slot}Texture"] = {"index": index}
    if "emissiveTexture" in material:
        material["emissiveFactor"] = [1, 1, 1]
    gltf["materials"] = [material]
    gltf["buffers"][0]["byteLength"] = len(binary)
    return glb(gltf, binary)
