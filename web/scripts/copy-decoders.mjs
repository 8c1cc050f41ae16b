// The decoders a compressed model needs, served by the storefront itself (never a CDN):
// Draco and Basis (KTX2) from three.js, meshopt from meshoptimizer.
import { cpSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const web = join(dirname(fileURLToPath(import.meta.url)), '..');
const lib = join(web, 'node_modules');
const out = join(web, 'public', 'decoders');
const copies = [
  ['three/examples/jsm/libs/draco/gltf/draco_decoder.js', 'draco/draco_decoder.js'],
  ['three/examples/jsm/libs/draco/gltf/draco_decoder.wasm', 'draco/draco_decoder.wasm'],
  ['three/examples/jsm/libs/draco/gltf/draco_wasm_wrapper.js', 'draco/draco_wasm_wrapper.js'],
  ['three/examples/jsm/libs/basis/basis_transcoder.js', 'basis/basis_transcoder.js'],
  ['three/examples/jsm/libs/basis/basis_transcoder.wasm', 'basis/basis_transcoder.wasm'],
  ['meshoptimizer/meshopt_decoder.cjs', 'meshopt/meshopt_decoder.js'],
];
for (const [from, to] of copies) {
  mkdirSync(dirname(join(out, to)), { recursive: true });
  cpSync(join(lib, from), join(out, to));
}
