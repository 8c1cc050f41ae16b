// node ar.mjs <input.glb> <output.glb>
//
// The GLB that Android's Scene Viewer is handed: the published model (meshopt geometry, WebP
// textures, instancing, quantised attributes) rewritten in plain glTF 2.0, which any viewer
// reads. Scene Viewer is a separate app that fetches the file itself, with none of the
// storefront's decoders; an extension it does not know may leave it with nothing to show.
// So the output keeps only KEPT extensions (docs/api.md, AR files, says what was checked and
// how), every texture is a PNG or a JPEG, and it is checked with the Khronos glTF validator.
// modelworker/usdz.py reads this same file to make the USDZ for iOS Quick Look.
// Prints one JSON object on stdout, as optimise.mjs does:
//   {"ok": true, "input_bytes", "output_bytes", "extensions": [...], "textures": {"png", "jpeg"},
//    "steps": [{"name", "ms", "bytes_in", "bytes_out"}]}
//   {"ok": false, "reason": "error", "errors": [...]}   (exit code 1)
import { readFile, writeFile } from 'node:fs/promises';
import { Logger, NodeIO } from '@gltf-transform/core';
import { ALL_EXTENSIONS } from '@gltf-transform/extensions';
import { dequantize, prune, uninstance, unpartition } from '@gltf-transform/functions';
import draco3d from 'draco3dgltf';
import validator from 'gltf-validator';
import { MeshoptDecoder } from 'meshoptimizer';
import sharp from 'sharp';

// What the AR file may still use: ratified Khronos extensions that change how a material
// looks, not how the file must be decoded (a viewer without them still shows the model).
// Everything else is undone (instancing, quantisation, meshopt, Draco) or dropped (material
// extensions past core PBR, variants: the default material is kept).
const KEPT = new Set(['KHR_materials_unlit', 'KHR_texture_transform']);
const COMPRESSION = new Set(['EXT_meshopt_compression', 'KHR_draco_mesh_compression']);
// Colour maps as JPEG at this quality: close to the WebP they come from at about twice its
// size; a map whose alpha is shown (a blended or cut-out colour map) is a PNG.
const JPEG_QUALITY = 90;

function fail(errors) {
  process.stdout.write(JSON.stringify({ ok: false, reason: 'error', errors }) + '\n');
  process.exit(1);
}

// Whether a texture's alpha channel shows: it is some material's base colour, and that
// material blends or cuts out by alpha.
function alphaShows(texture) {
  return texture.listParents().some(
    (parent) => parent.propertyType === 'Material'
      && parent.getBaseColorTexture() === texture && parent.getAlphaMode() !== 'OPAQUE',
  );
}

// Each texture as a PNG (when its alpha shows) or a JPEG; a PNG or JPEG already is left as it
// came. sharp decodes WebP and AVIF; a KTX2 texture it cannot, and the step fails.
function textures() {
  return async (document) => {
    for (const texture of document.getRoot().listTextures()) {
      const mimeType = texture.getMimeType();
      if (mimeType === 'image/png' || mimeType === 'image/jpeg') continue;
      const image = sharp(Buffer.from(texture.getImage()));
      const png = alphaShows(texture) && (await image.metadata()).hasAlpha;
      const encoded = png
        ? await image.png({ compressionLevel: 9 }).toBuffer()
        : await image.jpeg({ quality: JPEG_QUALITY, mozjpeg: true }).toBuffer();
      texture.setImage(new Uint8Array(encoded)).setMimeType(png ? 'image/png' : 'image/jpeg');
    }
  };
}

// Compressed geometry is decoded on reading; with its extension still there, the writer would
// compress it again.
function decoded() {
  return (document) => {
    for (const extension of document.getRoot().listExtensionsUsed()) {
      if (COMPRESSION.has(extension.extensionName)) extension.dispose();
    }
  };
}

// Every extension but KEPT is disposed of; what it held goes with it. Run after the steps
// that undo the ones that carry data.
function onlyKept() {
  return (document) => {
    for (const extension of document.getRoot().listExtensionsUsed()) {
      if (!KEPT.has(extension.extensionName)) extension.dispose();
    }
  };
}

// Order matters: geometry is decoded first; instances become nodes and quantised
// attributes floats while their extensions are still there to read; textures are re-encoded
// before their WebP/KTX2 extensions go; prune last, for what the dropped extensions held.
const STEPS = [
  ['decode', decoded()],
  ['unpartition', unpartition()],
  ['uninstance', uninstance()],
  ['dequantize', dequantize()],
  ['textures', textures()],
  ['extensions', onlyKept()],
  ['prune', prune({ keepExtras: true })],
];

async function validate(bytes) {
  const report = await validator.validateBytes(bytes, { maxIssues: 50 });
  return report.issues.messages
    .filter((m) => m.severity === 0)
    .slice(0, 10)
    .map((m) => `${m.code}: ${m.message}${m.pointer ? ` (${m.pointer})` : ''}`);
}

async function main() {
  const [input, output] = process.argv.slice(2);
  if (!input || !output) fail(['usage: node ar.mjs <input.glb> <output.glb>']);
  const bytes = new Uint8Array(await readFile(input));
  await MeshoptDecoder.ready;
  const io = new NodeIO()
    .registerExtensions(ALL_EXTENSIONS)
    .registerDependencies({
      'draco3d.decoder': await draco3d.createDecoderModule(),
      'meshopt.decoder': MeshoptDecoder,
    });
  const document = await io.readBinary(bytes);
  document.setLogger(new Logger(Logger.Verbosity.WARN));
  const steps = [];
  let written = bytes;
  for (const [name, transform] of STEPS) {
    const started = performance.now();
    await document.transform(transform);
    const before = written.byteLength;
    written = await io.writeBinary(document);
    steps.push({ name, ms: Math.round(performance.now() - started), bytes_in: before, bytes_out: written.byteLength });
  }
  const extensions = document.getRoot().listExtensionsUsed().map((e) => e.extensionName);
  const mimeTypes = document.getRoot().listTextures().map((t) => t.getMimeType());
  const problems = [
    ...extensions.filter((name) => !KEPT.has(name)).map((name) => `${name} is still used`),
    ...mimeTypes.filter((m) => m !== 'image/png' && m !== 'image/jpeg').map((m) => `a texture is ${m}`),
    ...(await validate(written)),
  ];
  if (problems.length) fail(problems);
  await writeFile(output, written);
  process.stdout.write(JSON.stringify({
    ok: true,
    input_bytes: bytes.byteLength,
    output_bytes: written.byteLength,
    extensions,
    textures: {
      png: mimeTypes.filter((m) => m === 'image/png').length,
      jpeg: mimeTypes.filter((m) => m === 'image/jpeg').length,
    },
    steps,
  }) + '\n');
}

main().catch((error) => fail([String(error.message || error)]));
