"""`python -m modelworker.usdz <ar.glb> <out.usdz> --memory-mb N`: the USDZ that iOS Quick Look
places in a room, made with OpenUSD (usd-core) from the AR GLB (modelworker/ar.mjs: plain
glTF 2.0, PNG and JPEG textures), then held to Apple's rules with OpenUSD's ComplianceChecker
(arkit=True): a file it faults is not published. Run as its own process by the pipeline
runner, its address space capped, as the OBJ converter is.

What is carried over: every mesh where its node puts it (instances flattened), its normals and
first UV set, and its material as a UsdPreviewSurface: base colour (and alpha, for blended
and cut-out materials), metallic and roughness, normal, occlusion and emissive maps with
their factors, PNG and JPEG kept as they come (a JPEG re-saved with its own quantisation
tables), or vertex colours. Not carried: animations, skins and morph targets (Quick Look
shows the rest pose), texture transforms (the model is then refused), a second UV set."""

from __future__ import annotations

import argparse
import hashlib
import io
import resource
import sys
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import trimesh
from PIL import Image
from pxr import Gf, Kind, Sdf, Usd, UsdGeom, UsdShade, UsdUtils, Vt
from pxr.UsdUtils.complianceChecker import ComplianceChecker

from modelworker.pipeline import write_report

# Apple's Quick Look takes these texture formats (the checker's ARKit rules say the same).
JPEG = ".jpg"
PNG = ".png"


@dataclass
class _Textures:
    """The package's images, each written once however many materials use it."""

    folder: Path
    files: dict[str, str] = field(default_factory=dict)  # digest of the pixels: relative path
    formats: dict[str, int] = field(default_factory=lambda: {"png": 0, "jpeg": 0})

    def add(self, image: Image.Image) -> str:
        encoded = io.BytesIO()
        # A JPEG keeps its own quantisation tables, so re-saving it loses next to nothing;
        # anything else (a PNG, a JPEG trimesh converted) is written losslessly.
        if image.format == "JPEG" and image.mode in ("RGB", "L"):
            image.save(encoded, "JPEG", quality="keep")
            suffix = JPEG
        else:
            image.save(encoded, "PNG")
            suffix = PNG
        data = encoded.getvalue()
        digest = hashlib.sha256(data).hexdigest()[:16]
        if digest not in self.files:
            relative = f"textures/{digest}{suffix}"
            (self.folder / relative).write_bytes(data)
            self.files[digest] = relative
            self.formats["jpeg" if suffix == JPEG else "png"] += 1
        return self.files[digest]


def _texture(
    material: UsdShade.Material,
    name: str,
    file: str,
    st: UsdShade.Output,
    colour_space: str,
    scale: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0),
    bias: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0),
) -> UsdShade.Shader:
    """A UsdUVTexture reading `file` at the mesh's UVs; `scale` and `bias` carry glTF's
    factors (and a normal map's unpacking)."""
    shader = UsdShade.Shader.Define(
        material.GetPrim().GetStage(), material.GetPath().AppendChild(name)
    )
    shader.CreateIdAttr("UsdUVTexture")
    shader.CreateInput("file", Sdf.ValueTypeNames.Asset).Set(Sdf.AssetPath(file))
    shader.CreateInput("st", Sdf.ValueTypeNames.Float2).ConnectToSource(st)
    shader.CreateInput("sourceColorSpace", Sdf.ValueTypeNames.Token).Set(colour_space)
    shader.CreateInput("wrapS", Sdf.ValueTypeNames.Token).Set("repeat")
    shader.CreateInput("wrapT", Sdf.ValueTypeNames.Token).Set("repeat")
    if scale != (1.0, 1.0, 1.0, 1.0):
        shader.CreateInput("scale", Sdf.ValueTypeNames.Float4).Set(Gf.Vec4f(*scale))
    if bias != (0.0, 0.0, 0.0, 0.0):
        shader.CreateInput("bias", Sdf.ValueTypeNames.Float4).Set(Gf.Vec4f(*bias))
    return shader


def _output(shader: UsdShade.Shader, channel: str) -> UsdShade.Output:
    kind = Sdf.ValueTypeNames.Float3 if channel == "rgb" else Sdf.ValueTypeNames.Float
    return shader.CreateOutput(channel, kind)


def _pbr_material(
    stage: Usd.Stage, path: Sdf.Path, pbr: Any, textures: _Textures
) -> UsdShade.Material:
    """glTF's metallic-roughness material (trimesh's PBRMaterial) as a UsdPreviewSurface."""
    material = UsdShade.Material.Define(stage, path)
    surface = UsdShade.Shader.Define(stage, path.AppendChild("surface"))
    surface.CreateIdAttr("UsdPreviewSurface")
    material.CreateSurfaceOutput().ConnectToSource(surface.ConnectableAPI(), "surface")
    reader = UsdShade.Shader.Define(stage, path.AppendChild("uv"))
    reader.CreateIdAttr("UsdPrimvarReader_float2")
    reader.CreateInput("varname", Sdf.ValueTypeNames.String).Set("st")
    st = reader.CreateOutput("result", Sdf.ValueTypeNames.Float2)

    def set_input(name: str, kind: Sdf.ValueTypeName, value: Any) -> UsdShade.Input:
        made = surface.CreateInput(name, kind)
        made.Set(value)
        return made

    # trimesh keeps glTF's colour factor as bytes (0-255).
    factor = np.asarray(pbr.baseColorFactor if pbr.baseColorFactor is not None else [1.0] * 4)
    colour = factor / 255.0 if np.issubdtype(factor.dtype, np.integer) else factor.astype(float)
    alpha_mode = pbr.alphaMode or "OPAQUE"
    diffuse = set_input("diffuseColor", Sdf.ValueTypeNames.Color3f, Gf.Vec3f(*colour[:3]))
    opacity = set_input("opacity", Sdf.ValueTypeNames.Float, float(colour[3]))
    if pbr.baseColorTexture is not None:
        base = _texture(
            material,
            "baseColor",
            textures.add(pbr.baseColorTexture),
            st,
            "sRGB",
            scale=tuple(float(c) for c in colour),
        )
        diffuse.ConnectToSource(_output(base, "rgb"))
        if alpha_mode != "OPAQUE" and "A" in pbr.baseColorTexture.getbands():
            opacity.ConnectToSource(_output(base, "a"))
    if alpha_mode == "OPAQUE":
        opacity.Set(1.0)
    elif alpha_mode == "MASK":
        cutoff = 0.5 if pbr.alphaCutoff is None else float(pbr.alphaCutoff)
        set_input("opacityThreshold", Sdf.ValueTypeNames.Float, cutoff)
    metallic_factor = 1.0 if pbr.metallicFactor is None else float(pbr.metallicFactor)
    roughness_factor = 1.0 if pbr.roughnessFactor is None else float(pbr.roughnessFactor)
    metallic = set_input("metallic", Sdf.ValueTypeNames.Float, metallic_factor)
    roughness = set_input("roughness", Sdf.ValueTypeNames.Float, roughness_factor)
    if pbr.metallicRoughnessTexture is not None:
        # glTF packs roughness in green and metalness in blue.
        packed = _texture(
            material,
            "metallicRoughness",
            textures.add(pbr.metallicRoughnessTexture),
            st,
            "raw",
            scale=(1.0, roughness_factor, metallic_factor, 1.0),
        )
        roughness.ConnectToSource(_output(packed, "g"))
        metallic.ConnectToSource(_output(packed, "b"))
    if pbr.normalTexture is not None:
        normal = _texture(
            material,
            "normal",
            textures.add(pbr.normalTexture),
            st,
            "raw",
            scale=(2.0, 2.0, 2.0, 1.0),
            bias=(-1.0, -1.0, -1.0, 0.0),
        )
        set_input("normal", Sdf.ValueTypeNames.Normal3f, Gf.Vec3f(0, 0, 1)).ConnectToSource(
            _output(normal, "rgb")
        )
    if pbr.occlusionTexture is not None:
        occlusion = _texture(material, "occlusion", textures.add(pbr.occlusionTexture), st, "raw")
        set_input("occlusion", Sdf.ValueTypeNames.Float, 1.0).ConnectToSource(
            _output(occlusion, "r")
        )
    emissive_factor = tuple(
        float(c) for c in (pbr.emissiveFactor if pbr.emissiveFactor is not None else (0, 0, 0))
    )
    emissive = set_input("emissiveColor", Sdf.ValueTypeNames.Color3f, Gf.Vec3f(*emissive_factor))
    if pbr.emissiveTexture is not None and any(emissive_factor):
        glow = _texture(
            material,
            "emissive",
            textures.add(pbr.emissiveTexture),
            st,
            "sRGB",
            scale=(*emissive_factor, 1.0),
        )
        emissive.ConnectToSource(_output(glow, "rgb"))
    return material


def _vertex_colour_material(stage: Usd.Stage, path: Sdf.Path) -> UsdShade.Material:
    """A material whose colour is the mesh's displayColor primvar (its vertex colours)."""
    material = UsdShade.Material.Define(stage, path)
    surface = UsdShade.Shader.Define(stage, path.AppendChild("surface"))
    surface.CreateIdAttr("UsdPreviewSurface")
    material.CreateSurfaceOutput().ConnectToSource(surface.ConnectableAPI(), "surface")
    reader = UsdShade.Shader.Define(stage, path.AppendChild("colour"))
    reader.CreateIdAttr("UsdPrimvarReader_float3")
    reader.CreateInput("varname", Sdf.ValueTypeNames.String).Set("displayColor")
    surface.CreateInput("diffuseColor", Sdf.ValueTypeNames.Color3f).ConnectToSource(
        reader.CreateOutput("result", Sdf.ValueTypeNames.Float3)
    )
    surface.CreateInput("roughness", Sdf.ValueTypeNames.Float).Set(1.0)
    return material


def _mesh(
    stage: Usd.Stage, path: Sdf.Path, mesh: trimesh.Trimesh, world: np.ndarray
) -> UsdGeom.Mesh:
    made = UsdGeom.Mesh.Define(stage, path)
    made.CreatePointsAttr(Vt.Vec3fArray.FromNumpy(np.asarray(mesh.vertices, dtype=np.float32)))
    made.CreateFaceVertexCountsAttr(
        Vt.IntArray.FromNumpy(np.full(len(mesh.faces), 3, dtype=np.int32))
    )
    made.CreateFaceVertexIndicesAttr(
        Vt.IntArray.FromNumpy(np.asarray(mesh.faces, dtype=np.int32).ravel())
    )
    # Normals as glTF gives them (or as trimesh works them out), per vertex: no subdivision.
    made.CreateNormalsAttr(
        Vt.Vec3fArray.FromNumpy(np.asarray(mesh.vertex_normals, dtype=np.float32))
    )
    made.SetNormalsInterpolation(UsdGeom.Tokens.vertex)
    made.CreateSubdivisionSchemeAttr(UsdGeom.Tokens.none)
    made.CreateExtentAttr(UsdGeom.PointBased.ComputeExtent(made.GetPointsAttr().Get()))
    made.AddTransformOp().Set(Gf.Matrix4d(world.T.tolist()))
    return made


def convert(source: Path, target: Path, work: Path) -> dict[str, Any]:
    """`source` (the AR GLB) as a USDZ at `target`; what went in."""
    scene = trimesh.load(str(source), force="scene", process=False)
    if not scene.geometry:
        raise ValueError("the model has no meshes")
    layer = work / "model.usdc"
    (work / "textures").mkdir()
    textures = _Textures(work)
    stage = Usd.Stage.CreateNew(str(layer))
    # glTF's axes and units: Y up, metres.
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.y)
    UsdGeom.SetStageMetersPerUnit(stage, 1.0)
    root = UsdGeom.Xform.Define(stage, "/Model")
    stage.SetDefaultPrim(root.GetPrim())
    Usd.ModelAPI(root.GetPrim()).SetKind(Kind.Tokens.component)
    UsdGeom.Scope.Define(stage, "/Model/Materials")
    materials: dict[int, UsdShade.Material] = {}
    meshes = 0
    for node in scene.graph.nodes_geometry:
        world, name = scene.graph[node]
        geometry = scene.geometry[name]
        if not isinstance(geometry, trimesh.Trimesh) or not len(geometry.faces):
            continue  # points and lines: Quick Look shows surfaces
        path = Sdf.Path(f"/Model/mesh_{meshes}")
        usd_mesh = _mesh(stage, path, geometry, world)
        visual = geometry.visual
        material = None
        if visual.kind == "texture" and visual.uv is not None and len(visual.uv):
            uvs = UsdGeom.PrimvarsAPI(usd_mesh).CreatePrimvar(
                "st", Sdf.ValueTypeNames.TexCoord2fArray, UsdGeom.Tokens.vertex
            )
            uvs.Set(Vt.Vec2fArray.FromNumpy(np.asarray(visual.uv, dtype=np.float32)))
        if visual.kind in ("texture", None) and getattr(visual, "material", None) is not None:
            pbr = (
                visual.material.to_pbr() if hasattr(visual.material, "to_pbr") else visual.material
            )
            key = id(visual.material)
            if key not in materials:
                materials[key] = _pbr_material(
                    stage, Sdf.Path(f"/Model/Materials/material_{len(materials)}"), pbr, textures
                )
            material = materials[key]
        elif visual.kind in ("vertex", "face"):
            colours = (
                np.asarray(
                    visual.vertex_colors if visual.kind == "vertex" else visual.face_colors,
                    dtype=np.float32,
                )[:, :3]
                / 255.0
            )
            interpolation = (
                UsdGeom.Tokens.vertex if visual.kind == "vertex" else UsdGeom.Tokens.uniform
            )
            usd_mesh.CreateDisplayColorPrimvar(interpolation).Set(Vt.Vec3fArray.FromNumpy(colours))
            material = _vertex_colour_material(
                stage, Sdf.Path(f"/Model/Materials/colours_{meshes}")
            )
        if material is not None:
            UsdShade.MaterialBindingAPI.Apply(usd_mesh.GetPrim()).Bind(material)
        meshes += 1
    if not meshes:
        raise ValueError("the model has no surfaces")
    stage.GetRootLayer().Save()
    if not UsdUtils.CreateNewARKitUsdzPackage(Sdf.AssetPath(str(layer)), str(target)):
        raise ValueError("OpenUSD could not package the USDZ")
    return {"meshes": meshes, "materials": len(materials), "textures": textures.formats}


def check(usdz: Path) -> dict[str, list[str]]:
    """OpenUSD's ComplianceChecker with Apple's ARKit rules: what it found."""
    with warnings.catch_warnings():
        # It says it will be removed for UsdValidation, which has no ARKit rules: usd-core is
        # pinned to a release that still has it (pyproject.toml).
        warnings.simplefilter("ignore", DeprecationWarning)
        checker = ComplianceChecker(arkit=True)
    checker.CheckCompliance(str(usdz))
    return {
        "errors": list(checker.GetErrors()),
        "failed_checks": list(checker.GetFailedChecks()),
        "warnings": list(checker.GetWarnings()),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("source", type=Path)
    parser.add_argument("target", type=Path)
    parser.add_argument("--memory-mb", type=int, required=True)
    args = parser.parse_args(argv)
    limit = args.memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        with tempfile.TemporaryDirectory(prefix="petshore-usdz-") as work:
            made = convert(args.source, args.target, Path(work))
        found = check(args.target)
    except MemoryError:
        return write_report("failed", f"USDZ: converting it needs more than {args.memory_mb} MB")
    except Exception as exc:  # anything trimesh or OpenUSD refuses: no USDZ, said why
        return write_report("failed", f"USDZ: {exc}")
    if found["errors"] or found["failed_checks"]:
        faults = "; ".join(found["failed_checks"] + found["errors"])
        return write_report("failed", f"USDZ: the compliance checker (ARKit) found: {faults}")
    return write_report(**made, bytes=args.target.stat().st_size, checker=found)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
