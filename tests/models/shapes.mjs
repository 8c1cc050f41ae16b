// Geometry as plain arrays (positions, normals, uvs, indices), and the glTF primitives made
// from it. Surfaces are parametric: f(u, v) for u, v in [0, 1], wound so that
// dP/du x dP/dv points outwards; normals are averaged over the triangles that share a point.
import { core } from './deps.mjs';

const { Primitive } = core;

// A grid of `nu` x `nv` quads over f; texcoords (u, 1 - v) unless `uv` maps them.
export function surface(f, nu, nv, uv = (u, v) => [u, 1 - v]) {
  const positions = [];
  const uvs = [];
  for (let j = 0; j <= nv; j++) {
    for (let i = 0; i <= nu; i++) {
      positions.push(...f(i / nu, j / nv));
      uvs.push(...uv(i / nu, j / nv));
    }
  }
  const indices = [];
  const row = nu + 1;
  for (let j = 0; j < nv; j++) {
    for (let i = 0; i < nu; i++) {
      const a = j * row + i;
      for (const triangle of [[a, a + 1, a + row], [a + 1, a + row + 1, a + row]]) {
        // Poles and closed ends make zero-area triangles: left out.
        if (area(positions, triangle) > 1e-12) indices.push(...triangle);
      }
    }
  }
  return { positions, uvs, indices, normals: smoothNormals(positions, indices) };
}

// A surface of revolution about +Y: `profile(v)` gives [radius, y].
export function lathe(profile, nu, nv, uv) {
  return surface((u, v) => {
    const [r, y] = profile(v);
    const angle = 2 * Math.PI * u;
    return [r * Math.sin(angle), y, r * Math.cos(angle)];
  }, nu, nv, uv);
}

// A torus about +Y, u around the ring, v around the tube.
export function torus(major, minor, nu, nv) {
  return surface((u, v) => {
    const a = 2 * Math.PI * u;
    const b = 2 * Math.PI * v;
    const r = major + minor * Math.cos(b);
    return [r * Math.sin(a), minor * Math.sin(b), r * Math.cos(a)];
  }, nu, nv);
}

// One flat face: corner + u * across + v * up, its texcoords `rect` [u0, v0, u1, v1] of the
// texture with the face's top at v0.
export function quad(corner, across, up, rect) {
  const [u0, v0, u1, v1] = rect;
  return surface(
    (u, v) => corner.map((c, k) => c + u * across[k] + v * up[k]),
    1,
    1,
    (u, v) => [u0 + u * (u1 - u0), v1 - v * (v1 - v0)],
  );
}

// Several pieces of geometry as one.
export function merge(parts) {
  const merged = { positions: [], normals: [], uvs: [], indices: [] };
  for (const part of parts) {
    const offset = merged.positions.length / 3;
    merged.positions.push(...part.positions);
    merged.normals.push(...part.normals);
    merged.uvs.push(...part.uvs);
    merged.indices.push(...part.indices.map((index) => index + offset));
  }
  return merged;
}

function area(positions, [a, b, c]) {
  const p = (i) => positions.slice(3 * i, 3 * i + 3);
  return length(cross(sub(p(b), p(a)), sub(p(c), p(a)))) / 2;
}

// Points at the same place (a seam, a pole) share one normal, so seams do not show.
export function smoothNormals(positions, indices) {
  const key = (i) => positions.slice(3 * i, 3 * i + 3).map((x) => x.toFixed(5)).join();
  const sums = new Map();
  for (let t = 0; t < indices.length; t += 3) {
    const [a, b, c] = [0, 1, 2].map((k) => positions.slice(3 * indices[t + k], 3 * indices[t + k] + 3));
    const n = cross(sub(b, a), sub(c, a)); // area-weighted
    for (let k = 0; k < 3; k++) {
      const id = key(indices[t + k]);
      const sum = sums.get(id) || [0, 0, 0];
      sums.set(id, [sum[0] + n[0], sum[1] + n[1], sum[2] + n[2]]);
    }
  }
  const normals = [];
  for (let i = 0; i < positions.length / 3; i++) {
    const n = sums.get(key(i)) || [0, 0, 0];
    const l = length(n);
    normals.push(...(l ? n.map((x) => x / l) : [0, 1, 0]));
  }
  return normals;
}

const sub = (a, b) => a.map((x, i) => x - b[i]);
const cross = (a, b) => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
const length = (a) => Math.hypot(...a);

// An accessor of `array` in the document's one buffer.
export function accessor(document, type, array) {
  return document.createAccessor().setType(type).setArray(array).setBuffer(document.getRoot().listBuffers()[0]);
}

// A triangle primitive of `geometry` with `material`, with texcoords when `uv`; `attributes`
// names more (COLOR_0, JOINTS_0...) as [type, typed array].
export function primitive(document, geometry, material, { uv = false, attributes = {} } = {}) {
  const vertices = geometry.positions.length / 3;
  const made = document
    .createPrimitive()
    .setMode(Primitive.Mode.TRIANGLES)
    .setMaterial(material)
    .setAttribute('POSITION', accessor(document, 'VEC3', new Float32Array(geometry.positions)))
    .setAttribute('NORMAL', accessor(document, 'VEC3', new Float32Array(geometry.normals)))
    .setIndices(
      accessor(document, 'SCALAR', vertices > 65535 ? new Uint32Array(geometry.indices) : new Uint16Array(geometry.indices)),
    );
  if (uv) {
    made.setAttribute('TEXCOORD_0', accessor(document, 'VEC2', new Float32Array(geometry.uvs)));
  }
  for (const [semantic, [type, array]] of Object.entries(attributes)) {
    made.setAttribute(semantic, accessor(document, type, array));
  }
  return made;
}

// A profile through `points` ([radius, y] each), `v` in [0, 1] spread evenly over its
// segments: for lathe().
export function polyline(points) {
  return (v) => {
    const at = Math.min(v * (points.length - 1), points.length - 1 - 1e-9);
    const i = Math.floor(at);
    const t = at - i;
    return [0, 1].map((k) => points[i][k] + t * (points[i + 1][k] - points[i][k]));
  };
}

// An empty document with its one buffer and a default scene.
export function model() {
  const document = new core.Document();
  document.createBuffer();
  const scene = document.createScene('scene');
  document.getRoot().setDefaultScene(scene);
  return { document, scene };
}

// A node showing a mesh of `primitives`.
export function meshNode(document, name, ...primitives) {
  const mesh = document.createMesh(name);
  for (const made of primitives) mesh.addPrimitive(made);
  return document.createNode(name).setMesh(mesh);
}
