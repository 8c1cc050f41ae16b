// node optimise.mjs <input.glb|input.gltf> <output.glb> --limits <json> --rung <json|keep>
//                   [--previews <folder> --preview-bytes N]   (both, or neither)
// --limits: modelworker/limits.py's Limits.for_optimiser(), the one place they are written.
// --rung: one rung of modelworker/search.py's ladder (pipeline.Rung): {"colour", "normal",
// "other"} (the largest side, in pixels, of each map role), "quality" (WebP, 1-100) and
// "simplify" (how far the surface may move, a fraction of the mesh's size; 0: not simplified);
// or "keep": the model's own images and geometry.
//
// Validates a GLB, or a .gltf with its files beside it, with the Khronos glTF validator, then
// optimises it: an ordered list of glTF-Transform steps, each timed, with bytes in and out.
// With --previews, also writes preview candidates into that folder: the same model simplified,
// with small textures, within --preview-bytes, for the page to show while the full model
// streams; modelworker/search.py renders them and picks one. Prints one JSON object on stdout:
//   {"ok": true, "input_bytes", "output_bytes", "textures": n, "triangles": n,
//    "previews": [{"file", "bytes", "rung"}], "steps": [...], "warnings": n}
//   {"ok": false, "reason": "invalid", "errors": [...]}          (exit code 2)
//   {"ok": false, "reason": "too_large", "errors": [...]}        (exit code 2: see LIMITS)
//   {"ok": false, "reason": "error", "errors": [...]}            (exit code 1: the pipeline failed)
// The full model is simplified only when the search's renders show no difference: simplification
// can streak shiny surfaces. A preview is shown for seconds, at most, so there it is worth its
// bytes.
import { readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join as joinPath, resolve, sep } from 'node:path';
import { Logger, NodeIO } from '@gltf-transform/core';
import { ALL_EXTENSIONS } from '@gltf-transform/extensions';
import {
  cloneDocument, dedup, flatten, instance, join, meshopt, palette, prune, resample, simplify, textureCompress, unpartition, weld,
} from '@gltf-transform/functions';
import draco3d from 'draco3dgltf';
import validator from 'gltf-validator';
import { MeshoptDecoder, MeshoptEncoder, MeshoptSimplifier } from 'meshoptimizer';
import sharp from 'sharp';

const MAX_VALIDATION_ISSUES = 200;
// Declared sizes past these are refused before reading (see modelworker/limits.py); set
// from --limits before anything else runs.
const LIMITS = {};
const LIMIT_NAMES = [
  'imageSide', 'imagePixels', 'vertices', 'triangles', 'drawCalls', 'accessorElements',
];
const ROLES = ['colour', 'normal', 'other'];

function parseArgs(argv) {
  const [input, output, ...rest] = argv;
  const options = { limits: {}, rung: undefined, previews: null, previewBytes: null };
  for (let i = 0; i < rest.length; i += 2) {
    if (rest[i] === '--limits') options.limits = JSON.parse(rest[i + 1]);
    if (rest[i] === '--rung') options.rung = rest[i + 1] === 'keep' ? null : JSON.parse(rest[i + 1]);
    if (rest[i] === '--previews') options.previews = rest[i + 1];
    if (rest[i] === '--preview-bytes') options.previewBytes = Number(rest[i + 1]);
  }
  const previewAsked = options.previews !== null || options.previewBytes !== null;
  const previewOk = !previewAsked || (options.previews && options.previewBytes > 0);
  const limitsOk = LIMIT_NAMES.every((name) => Number(options.limits[name]) > 0);
  const { rung } = options;
  const rungOk = rung === null || (
    rung !== undefined && ROLES.every((role) => rung[role] >= 32)
    && rung.quality >= 1 && rung.quality <= 100 && rung.simplify >= 0 && rung.simplify < 1
  );
  if (!input || !output || !limitsOk || !rungOk || !previewOk) {
    throw new Error(
      `usage: node optimise.mjs <input.glb> <output.glb> --limits '{${LIMIT_NAMES.join(', ')}}'`
        + ` --rung '{${ROLES.join(', ')}, quality, simplify}'|keep [--previews <folder> --preview-bytes N]`,
    );
  }
  return { input, output, ...options };
}

// A .gltf's buffers and images may only be files in its own folder: never a path outside
// it, never a URL.
function resources(path) {
  const folder = resolve(dirname(path));
  return async (uri) => {
    const file = resolve(folder, decodeURIComponent(uri));
    if (/^[a-z]+:/i.test(uri) || !file.startsWith(folder + sep)) {
      throw new Error(`resource ${uri} is outside the model's folder`);
    }
    return new Uint8Array(await readFile(file));
  };
}

// The glTF JSON of a GLB (its first chunk) or of a .gltf file.
function gltfJson(bytes) {
  const data = Buffer.from(bytes);
  const text = data.toString('ascii', 0, 4) === 'glTF' ? data.subarray(20, 20 + data.readUInt32LE(12)) : data;
  return JSON.parse(text.toString('utf8'));
}

// What in the model exceeds LIMITS, in words; empty when nothing does.
function oversized(info, json) {
  const found = [];
  const images = (info.resources || []).filter((r) => r.image);
  for (const { pointer, image } of images) {
    if (image.width > LIMITS.imageSide || image.height > LIMITS.imageSide) {
      found.push(`${pointer} is ${image.width} x ${image.height} pixels; at most ${LIMITS.imageSide} a side`);
    }
  }
  const pixels = images.reduce((sum, { image }) => sum + image.width * image.height, 0);
  if (pixels > LIMITS.imagePixels) found.push(`the images hold ${pixels} pixels; at most ${LIMITS.imagePixels}`);
  const counts = [
    ['vertices', info.totalVertexCount],
    ['triangles', info.totalTriangleCount],
    ['drawCalls', info.drawCallCount],
    ['accessorElements', (json.accessors || []).reduce((sum, a) => sum + (Number(a.count) || 0), 0)],
  ];
  for (const [name, count] of counts) {
    if (count > LIMITS[name]) found.push(`${count} ${name}; at most ${LIMITS[name]}`);
  }
  return found;
}

async function validate(bytes, path) {
  let report;
  try {
    report = await validator.validateBytes(new Uint8Array(bytes), {
      uri: basename(path),
      maxIssues: MAX_VALIDATION_ISSUES,
      externalResourceFunction: resources(path),
    });
  } catch (error) {
    return { errors: [String(error.message || error)], warnings: 0, tooLarge: [], triangles: 0 };
  }
  let tooLarge = [];
  try {
    tooLarge = oversized(report.info || {}, gltfJson(bytes));
  } catch {
    // JSON the validator could not read either: its errors say why.
  }
  const errors = report.issues.messages
    .filter((m) => m.severity === 0)
    .slice(0, 10)
    .map((m) => `${m.code}: ${m.message}${m.pointer ? ` (${m.pointer})` : ''}`);
  return { errors, warnings: report.issues.numWarnings, tooLarge, triangles: report.info?.totalTriangleCount ?? 0 };
}

// The pipeline: order matters. Structure first (buffers, dedup, instancing, palette textures
// for flat colours, flatten and join draw calls, prune, weld), then textures, and
// compression last, because meshopt quantises and reorders the finished geometry.
function steps({ rung }) {
  return [
    ['unpartition', unpartition()], // a GLB holds one buffer; a .gltf may bring several
    ['dedup', dedup()],
    ['instance', instance()],
    ['palette', palette()],
    ['flatten', flatten()],
    ['join', join()],
    ['prune', prune({ keepExtras: true })],
    ['weld', weld()],
    ['resample', resample()],
    ...(rung?.simplify ? [['simplify', simplify({ simplifier: MeshoptSimplifier, ratio: 0, error: rung.simplify })]] : []),
    ...(rung ? textures(rung) : []),
  ];
}

// A fault of the file, not of the pipeline: reported as invalid, not as a failure.
class InvalidInput extends Error {}

// The validator reads an image's header only; its pixels are first decoded here, so a
// decoding error means a broken image.
const decoding = (transform) => async (document, context) => {
  try {
    await transform(document, context);
  } catch (error) {
    throw new InvalidInput(`an image could not be decoded: ${error.message || error}`);
  }
};

// A texture that needed no resizing keeps its original image when the encoder made it larger:
// a small flat-colour PNG often beats its WebP.
const smallerOf = (compress, cap) => async (document, context) => {
  const before = document.getRoot().listTextures().map((texture) => ({
    texture, image: texture.getImage(), mimeType: texture.getMimeType(), size: texture.getSize(),
  }));
  await compress(document, context);
  for (const { texture, image, mimeType, size } of before) {
    const now = texture.getImage();
    if (image && now && size && now.byteLength > image.byteLength && Math.max(...size) <= cap) {
      texture.setImage(image).setMimeType(mimeType);
    }
  }
};

// Each map role gets its own size: colour is what a shopper looks at; a normal map's fine
// grooves show in the light; occlusion, roughness and the rest often show at a quarter of the
// pixels. How many each model needs is measured, not guessed (modelworker/search.py).
const SLOTS = {
  colour: /^baseColor|^emissive|^diffuse/,
  normal: /normal/i,
  other: /^(?!baseColor|emissive|diffuse)(?!.*normal)/i,
};

function textures(settings) {
  return ROLES.map((role) => {
    const cap = settings[role];
    const compress = textureCompress({
      encoder: sharp, targetFormat: 'webp', slots: SLOTS[role], resize: [cap, cap], quality: settings.quality,
    });
    return [`${role} textures`, decoding(smallerOf(compress, cap))];
  });
}

const compress = () => meshopt({ encoder: MeshoptEncoder, level: 'high' });

// Tried in order: fewer triangles and smaller textures each time. `error` bounds how far the
// simplified surface may move, as a fraction of the mesh's size, so the silhouette holds
// before the budget is met. The first PREVIEW_CANDIDATES that fit the budget are written.
const PREVIEW_CANDIDATES = 3;
const PREVIEW_LADDER = [
  { ratio: 1, error: 0, textureSize: 256 },
  { ratio: 0.5, error: 0.001, textureSize: 256 },
  { ratio: 0.5, error: 0.001, textureSize: 128 },
  { ratio: 0.25, error: 0.005, textureSize: 128 },
  { ratio: 0.1, error: 0.02, textureSize: 128 },
  { ratio: 0, error: 0.05, textureSize: 64 },
];

// Runs each step, timed and sized for the report; the document as written after the last.
async function runSteps(io, document, list, report, input) {
  let written = input;
  for (const [name, transform] of list) {
    const started = performance.now();
    await document.transform(transform);
    const before = written.byteLength;
    written = await io.writeBinary(document);
    report.push({ name, ms: Math.round(performance.now() - started), bytes_in: before, bytes_out: written.byteLength });
  }
  return written;
}

// The report of a model that cannot be published: exit code 2 for a fault of the file
// (invalid, too_large), 1 when the pipeline itself failed.
function fail(reason, errors) {
  process.stdout.write(JSON.stringify({ ok: false, reason, errors }) + '\n');
  process.exit(reason === 'error' ? 1 : 2);
}

// The least-simplified previews that fit in `budget` bytes, written into `folder`; what was
// written.
async function previews(io, document, budget, folder) {
  const written = [];
  for (const [index, rung] of PREVIEW_LADDER.entries()) {
    const copy = cloneDocument(document);
    copy.setLogger(document.getLogger());
    const size = rung.textureSize;
    await copy.transform(
      ...(rung.ratio < 1 ? [simplify({ simplifier: MeshoptSimplifier, ratio: rung.ratio, error: rung.error })] : []),
      ...textures({ colour: size, normal: size / 2, other: size / 2, quality: 80 }).map(([, transform]) => transform),
      compress(),
    );
    const output = await io.writeBinary(copy);
    if (output.byteLength > budget) continue;
    const file = joinPath(folder, `preview-${index}.glb`);
    await writeFile(file, output);
    written.push({ file, bytes: output.byteLength, rung });
    if (written.length === PREVIEW_CANDIDATES) break;
  }
  return written;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  Object.assign(LIMITS, args.limits);
  const bytes = await readFile(args.input);
  const { errors, warnings, tooLarge, triangles } = await validate(bytes, args.input);
  if (tooLarge.length) fail('too_large', tooLarge);
  if (errors.length) fail('invalid', errors);
  await Promise.all([MeshoptDecoder.ready, MeshoptEncoder.ready, MeshoptSimplifier.ready]);
  // Uploads may come Draco-compressed; the output is always meshopt (one decoder to serve).
  const io = new NodeIO()
    .registerExtensions(ALL_EXTENSIONS)
    .registerDependencies({
      'draco3d.decoder': await draco3d.createDecoderModule(),
      'meshopt.decoder': MeshoptDecoder,
      'meshopt.encoder': MeshoptEncoder,
    });
  const document = args.input.toLowerCase().endsWith('.gltf')
    ? await io.read(args.input)
    : await io.readBinary(new Uint8Array(bytes));
  // stdout carries the report; the library's notes go to stderr, and only warnings.
  document.setLogger(new Logger(Logger.Verbosity.WARN));
  // Draco geometry is decoded on reading; the output's compression is meshopt's alone.
  for (const extension of document.getRoot().listExtensionsUsed()) {
    if (extension.extensionName === 'KHR_draco_mesh_compression') extension.dispose();
  }
  const report = [];
  const finished = await runSteps(io, document, steps(args), report, bytes);
  // The previews start from the finished, uncompressed geometry and textures.
  const base = args.previews ? cloneDocument(document) : null;
  const textureCount = document.getRoot().listTextures().length;
  const output = await runSteps(io, document, [['meshopt', compress()]], report, finished);
  await writeFile(args.output, output);
  let made = [];
  if (base) {
    const started = performance.now();
    const step = { name: 'preview candidates', bytes_in: finished.byteLength };
    try {
      made = await previews(io, base, args.previewBytes, args.previews);
    } catch (error) {
      // A preview is a nicety: the model is published without one, and the report says why.
      step.error = String(error.message || error);
    }
    report.push({ ...step, ms: Math.round(performance.now() - started), bytes_out: made.map((p) => p.bytes) });
  }
  process.stdout.write(JSON.stringify({
    ok: true,
    input_bytes: bytes.length,
    output_bytes: output.byteLength,
    textures: textureCount,
    triangles,
    previews: made,
    steps: report,
    warnings,
  }) + '\n');
}

main().catch((error) => fail(error instanceof InvalidInput ? 'invalid' : 'error', [String(error.message || error)]));
