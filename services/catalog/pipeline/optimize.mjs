// node optimize.mjs <input.glb|input.gltf> <output.glb> [--texture-size N]
//
// Validates a GLB, or a .gltf with its files beside it, with the Khronos glTF validator, then optimises it: an ordered list of
// glTF-Transform steps, each timed, with bytes in and out. Prints one JSON object on stdout:
//   {"ok": true, "input_bytes", "output_bytes", "steps": [...], "warnings": n}
//   {"ok": false, "reason": "invalid", "errors": [...]}          (exit code 2)
// Mesh simplification is left out on purpose: it streaks shiny surfaces.
import { readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, resolve, sep } from 'node:path';
import { Logger, NodeIO } from '@gltf-transform/core';
import { ALL_EXTENSIONS } from '@gltf-transform/extensions';
import { dedup, flatten, instance, join, meshopt, palette, prune, resample, textureCompress, unpartition, weld } from '@gltf-transform/functions';
import validator from 'gltf-validator';
import { MeshoptDecoder, MeshoptEncoder } from 'meshoptimizer';
import sharp from 'sharp';

const MAX_VALIDATION_ISSUES = 200;

function parseArgs(argv) {
  const [input, output, ...rest] = argv;
  const options = { textureSize: 1024 };
  for (let i = 0; i < rest.length; i += 2) {
    if (rest[i] === '--texture-size') options.textureSize = Number(rest[i + 1]);
  }
  if (!input || !output || !(options.textureSize >= 64)) {
    throw new Error('usage: node optimize.mjs <input.glb> <output.glb> [--texture-size N]');
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

async function validate(bytes, path) {
  let report;
  try {
    report = await validator.validateBytes(new Uint8Array(bytes), {
      uri: basename(path),
      maxIssues: MAX_VALIDATION_ISSUES,
      externalResourceFunction: resources(path),
    });
  } catch (error) {
    return { errors: [String(error.message || error)], warnings: 0 };
  }
  const errors = report.issues.messages
    .filter((m) => m.severity === 0)
    .slice(0, 10)
    .map((m) => `${m.code}: ${m.message}${m.pointer ? ` (${m.pointer})` : ''}`);
  return { errors, warnings: report.issues.numWarnings };
}

// The pipeline: order matters. Structure first (buffers, dedup, instancing, palette textures
// for flat colours, flatten and join draw calls, prune, weld), then textures, and
// compression last, because meshopt quantises and reorders the finished geometry.
function steps({ textureSize }) {
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
    // Colour is what a shopper looks at; the other maps (normals, occlusion, roughness) cost
    // as many bytes but show at half the resolution without a visible difference.
    ['textures', textureCompress({ encoder: sharp, targetFormat: 'webp', slots: /^baseColor|^emissive/, resize: [textureSize, textureSize] })],
    ['detail textures', textureCompress({ encoder: sharp, targetFormat: 'webp', slots: /^(?!baseColor|emissive)/, resize: [textureSize / 2, textureSize / 2] })],
    ['meshopt', meshopt({ encoder: MeshoptEncoder, level: 'high' })],
  ];
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const bytes = await readFile(args.input);
  const { errors, warnings } = await validate(bytes, args.input);
  if (errors.length) {
    process.stdout.write(JSON.stringify({ ok: false, reason: 'invalid', errors }) + '\n');
    process.exit(2);
  }
  await MeshoptDecoder.ready;
  await MeshoptEncoder.ready;
  const io = new NodeIO()
    .registerExtensions(ALL_EXTENSIONS)
    .registerDependencies({ 'meshopt.decoder': MeshoptDecoder, 'meshopt.encoder': MeshoptEncoder });
  const document = args.input.toLowerCase().endsWith('.gltf')
    ? await io.read(args.input)
    : await io.readBinary(new Uint8Array(bytes));
  // stdout carries the report; the library's notes go to stderr, and only warnings.
  document.setLogger(new Logger(Logger.Verbosity.WARN));
  const report = [];
  let size = bytes.length;
  for (const [name, transform] of steps(args)) {
    const started = performance.now();
    await document.transform(transform);
    const after = (await io.writeBinary(document)).byteLength;
    report.push({ name, ms: Math.round(performance.now() - started), bytes_in: size, bytes_out: after });
    size = after;
  }
  const output = await io.writeBinary(document);
  await writeFile(args.output, output);
  process.stdout.write(JSON.stringify({
    ok: true, input_bytes: bytes.length, output_bytes: output.byteLength, steps: report, warnings,
  }) + '\n');
}

main().catch((error) => {
  process.stdout.write(JSON.stringify({ ok: false, reason: 'error', errors: [String(error.message || error)] }) + '\n');
  process.exit(1);
});
