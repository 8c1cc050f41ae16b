// The generator is a test fixture, but it builds with the model pipeline's own npm packages
// (the versions the optimiser reads back), so it resolves them from modelworker/node_modules
// rather than keeping a package.json of its own. CommonJS builds throughout, so
// @gltf-transform/extensions and the core it is given are one copy.
import { createRequire } from 'node:module';

const require = createRequire(new URL('../../modelworker/package.json', import.meta.url));

export const core = require('@gltf-transform/core');
export const extensions = require('@gltf-transform/extensions');
export const sharp = require('sharp');
export const validator = require('gltf-validator');
