// The kinds whose geometry or structure is what an optimiser may lose: colour only in the
// vertices, hundreds of small meshes, a skinned animation, morph targets.
import { hash, random } from './pictures.mjs';
import { accessor, lathe, meshNode, model, polyline, primitive, smoothNormals, torus } from './shapes.mjs';

// A rope ring toy whose three twisted strands are coloured per vertex (COLOR_0, linear), with
// no texture at all.
export async function vertexColours() {
  const strands = [[0.75, 0.05, 0.04], [0.85, 0.85, 0.8], [0.04, 0.18, 0.65]];
  const [around, across] = [240, 36];
  const ring = torus(0.4, 0.1, around, across);
  const colours = [];
  for (let j = 0; j <= across; j++) {
    for (let i = 0; i <= around; i++) {
      // Ten turns of the rope round the ring.
      const twist = ((j / across) * 3 + (i / around) * 30) % 3;
      // Darker where two strands meet, like the grooves of a rope.
      const shade = 0.55 + 0.45 * Math.sin(Math.PI * (twist % 1));
      colours.push(...strands[Math.floor(twist)].map((c) => c * shade));
    }
  }
  const { document, scene } = model();
  const cotton = document.createMaterial('cotton').setRoughnessFactor(0.95).setMetallicFactor(0);
  const attributes = { COLOR_0: ['VEC3', new Float32Array(colours)] };
  scene.addChild(meshNode(document, 'rope ring', primitive(document, ring, cotton, { attributes })));
  return document;
}

// A bowl heaped with kibble: each of 360 pieces a mesh and node of its own, every one a
// slightly different lump, as exported from a modelling tool that never merged them.
export async function manyMeshes() {
  const { document, scene } = model();
  const glaze = document.createMaterial('glaze').setBaseColorFactor([0.12, 0.3, 0.7, 1]).setRoughnessFactor(0.25);
  const bowl = polyline([[0, 0], [0.45, 0], [0.6, 0.25], [0.58, 0.27], [0.55, 0.25], [0.42, 0.04], [0, 0.04]]);
  scene.addChild(meshNode(document, 'bowl', primitive(document, lathe(bowl, 96, 48), glaze)));
  const browns = [[0.36, 0.2, 0.08], [0.45, 0.27, 0.11], [0.28, 0.15, 0.06]].map((rgb, i) =>
    document.createMaterial(`kibble ${i}`).setBaseColorFactor([...rgb, 1]).setRoughnessFactor(0.85),
  );
  const pile = document.createNode('kibble');
  scene.addChild(pile);
  const next = random(360);
  const innerRadius = (y) => 0.42 + ((y - 0.04) * 0.13) / 0.21;
  for (let piece = 0; piece < 360; ) {
    const r = Math.sqrt(next()) * 0.55;
    const y = 0.07 + next() * (0.32 - 0.6 * r * r);
    if (r > innerRadius(y) - 0.05) continue;
    const angle = 2 * Math.PI * next();
    const lump = lathe((v) => [0.035 * Math.sin(Math.PI * v), -0.021 * Math.cos(Math.PI * v)], 8, 6);
    // Jittered by where a point is, so points that meet (the seam, the poles) move together.
    lump.positions = lump.positions.map((p, i, all) => {
      const [x, py, z] = all.slice(i - (i % 3), i - (i % 3) + 3).map((c) => Math.round(c * 1e4));
      return p * (0.85 + 0.3 * hash(x + 7 * z, py, piece));
    });
    lump.normals = smoothNormals(lump.positions, lump.indices);
    const [ax, ay, az, turn] = [next() - 0.5, next() - 0.5, next() - 0.5, Math.PI * next()];
    const l = Math.hypot(ax, ay, az);
    const name = `kibble ${String(piece).padStart(3, '0')}`;
    pile.addChild(
      meshNode(document, name, primitive(document, lump, browns[piece % 3]))
        .setTranslation([r * Math.sin(angle), y, r * Math.cos(angle)])
        .setRotation([...[ax, ay, az].map((c) => (c / l) * Math.sin(turn / 2)), Math.cos(turn / 2)]),
    );
    piece++;
  }
  return document;
}

// A wiggly worm toy: a tube skinned to a chain of four joints, which a 3 s clip bends in a
// travelling wave and bobs (rotation and translation channels). The clip starts and ends at
// the rest pose, so a still picture is the same whichever frame a viewer shows.
export async function animation() {
  const { document, scene } = model();
  const length = 1.2;
  const spacing = 0.3;
  const tube = lathe((v) => [0.08 * Math.sqrt(Math.max(0, 1 - (2 * v - 1) ** 8)), length * v], 24, 96);
  const joints = [];
  const weights = [];
  for (let i = 1; i < tube.positions.length; i += 3) {
    const at = Math.min(tube.positions[i] / spacing, 3);
    const lower = Math.min(Math.floor(at), 2);
    const t = Math.min(at - lower, 1);
    // Each vertex leans on its two nearest joints; a slot of no weight names joint 0, as the
    // validator asks.
    joints.push(t < 1 ? lower : 0, t > 0 ? lower + 1 : 0, 0, 0);
    weights.push(1 - t, t, 0, 0);
  }
  const green = document.createMaterial('plush').setBaseColorFactor([0.3, 0.7, 0.2, 1]).setRoughnessFactor(0.9);
  const worm = meshNode(
    document,
    'worm',
    primitive(document, tube, green, {
      attributes: { JOINTS_0: ['VEC4', new Uint8Array(joints)], WEIGHTS_0: ['VEC4', new Float32Array(weights)] },
    }),
  );
  const chain = [0, 1, 2, 3].map((i) => document.createNode(`joint ${i}`).setTranslation([0, i ? spacing : 0, 0]));
  chain.slice(1).forEach((joint, i) => chain[i].addChild(joint));
  const inverseBinds = chain.flatMap((_, i) => [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, -spacing * i, 0, 1]);
  const skin = document
    .createSkin('worm')
    .setSkeleton(chain[0])
    .setInverseBindMatrices(accessor(document, 'MAT4', new Float32Array(inverseBinds)));
  for (const joint of chain) skin.addJoint(joint);
  worm.setSkin(skin);
  scene.addChild(worm).addChild(chain[0]);
  const times = Array.from({ length: 91 }, (_, k) => k / 30);
  const clip = document.createAnimation('wiggle');
  const channel = (node, path, type, values) => {
    const sampler = document
      .createAnimationSampler()
      .setInput(accessor(document, 'SCALAR', new Float32Array(times)))
      .setOutput(accessor(document, type, new Float32Array(values)))
      .setInterpolation('LINEAR');
    clip.addSampler(sampler).addChannel(document.createAnimationChannel().setTargetNode(node).setTargetPath(path).setSampler(sampler));
  };
  chain.forEach((joint, i) =>
    channel(joint, 'rotation', 'VEC4', times.flatMap((t) => {
      const angle = 0.35 * Math.sin((2 * Math.PI * t) / 1.5 - 0.9 * i) * Math.sin((Math.PI * t) / 3);
      return [0, 0, Math.sin(angle / 2), Math.cos(angle / 2)];
    })),
  );
  channel(chain[0], 'translation', 'VEC3', times.flatMap((t) => [0, 0.05 * Math.sin((Math.PI * t) / 3) ** 2, 0]));
  return document;
}

// A squeaky ball whose default weights squash it and raise six ribs: the shape on show is
// the morph targets' work, not the base mesh's.
export async function morphTargets() {
  const { document, scene } = model();
  const radius = 0.4;
  const ball = lathe((v) => [radius * Math.sin(Math.PI * v), -radius * Math.cos(Math.PI * v)], 64, 32);
  const squash = ([x, y, z]) => [x * 1.25, y * 0.6, z * 1.25];
  const ribs = ([x, y, z]) => {
    const f = 1 + 0.15 * Math.cos(6 * Math.atan2(x, z)) * ((x * x + z * z) / radius ** 2);
    return [x * f, y, z * f];
  };
  const points = [];
  for (let i = 0; i < ball.positions.length; i += 3) points.push(ball.positions.slice(i, i + 3));
  const pink = document.createMaterial('squeaky vinyl').setBaseColorFactor([0.95, 0.35, 0.55, 1]).setRoughnessFactor(0.35);
  const made = primitive(document, ball, pink);
  for (const shape of [squash, ribs]) {
    const moved = points.flatMap(shape);
    const normals = smoothNormals(moved, ball.indices);
    const target = document
      .createPrimitiveTarget()
      .setAttribute('POSITION', accessor(document, 'VEC3', new Float32Array(moved.map((p, i) => p - ball.positions[i]))))
      .setAttribute('NORMAL', accessor(document, 'VEC3', new Float32Array(normals.map((n, i) => n - ball.normals[i]))));
    made.addTarget(target);
  }
  const node = meshNode(document, 'squeaky ball', made);
  node.getMesh().setWeights([0.5, 0.8]).setExtras({ targetNames: ['squash', 'ribs'] });
  scene.addChild(node);
  return document;
}
