// node tests/models/make.mjs <out-dir>
//
// Writes the test set of model kinds that break fixed optimisation settings (README.md beside
// this file says what each one tests), one GLB each, <kind>.glb, made in code from seeded
// randomness: the same bytes on every run. Each is checked by the Khronos glTF validator
// before it is kept. Prints one JSON object on stdout: {"<kind>": {"bytes", "warnings"}, ...}.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { core, extensions, validator } from './deps.mjs';
import { animation, manyMeshes, morphTargets, vertexColours } from './shaped.mjs';
import { alphaWeave, fineNormals, printedBox, stainedGlass } from './textured.mjs';

export const KINDS = {
  'alpha-weave': alphaWeave,
  'stained-glass': stainedGlass,
  'fine-normals': fineNormals,
  'vertex-colours': vertexColours,
  'many-meshes': manyMeshes,
  'printed-box': printedBox,
  animation,
  'morph-targets': morphTargets,
};

async function make(kind, folder) {
  const io = new core.NodeIO().registerExtensions(extensions.ALL_EXTENSIONS);
  const bytes = await io.writeBinary(await KINDS[kind]());
  const report = await validator.validateBytes(bytes, { uri: `${kind}.glb`, maxIssues: 50 });
  const errors = report.issues.messages.filter((m) => m.severity === 0);
  if (errors.length) {
    throw new Error(`${kind}: ${errors.map((m) => `${m.code} ${m.message} ${m.pointer || ''}`).join('; ')}`);
  }
  await writeFile(join(folder, `${kind}.glb`), bytes);
  return [kind, { bytes: bytes.byteLength, warnings: report.issues.numWarnings }];
}

const folder = process.argv[2];
if (!folder) {
  process.stderr.write('usage: node tests/models/make.mjs <out-dir>\n');
  process.exit(1);
}
await mkdir(folder, { recursive: true });
const made = await Promise.all(Object.keys(KINDS).map((kind) => make(kind, folder)));
process.stdout.write(JSON.stringify(Object.fromEntries(made)) + '\n');
