// The kinds whose textures are what fixed settings get wrong: an alpha-tested weave, stained
// glass, a fine normal map, and a large print of flat colour with sharp text.
import { extensions } from './deps.mjs';
import { clamp, hash, normalMap, paint, png, random } from './pictures.mjs';
import { lathe, meshNode, merge, model, polyline, primitive, quad, torus } from './shapes.mjs';

const { KHRMaterialsIOR, KHRMaterialsTransmission, KHRMaterialsVolume } = extensions;

function texture(document, name, image) {
  return document.createTexture(name).setImage(image).setMimeType('image/png');
}

// A wicker basket: stakes and weavers over and under each other with holes between them, cut
// out by alpha (MASK). The texture goes once round the wall, so the front shows half of it
// across the picture: a strand is a few pixels wide on screen, a hole one or two.
export async function alphaWeave() {
  const side = 2048;
  const stake = { period: 32, half: 6 };
  const weaver = { period: 16, half: 6 };
  const heights = new Float32Array(side * side);
  const colour = paint(side, side, 4, (x, y) => {
    const column = Math.floor(x / stake.period);
    const row = Math.floor(y / weaver.period);
    const across = (x % stake.period) - stake.period / 2 + 0.5;
    const down = (y % weaver.period) - weaver.period / 2 + 0.5;
    const inStake = Math.abs(across) < stake.half;
    const inWeaver = Math.abs(down) < weaver.half;
    if (!inStake && !inWeaver) return [0, 0, 0, 0];
    // A weaver passes over every other stake; where it goes under, it sinks.
    const weaverOver = (column + row) % 2 === 0;
    const weaverHeight =
      Math.sqrt(1 - (down / weaver.half) ** 2) *
      (weaverOver ? 1 : 0.55 + (0.45 * Math.abs(across)) / (stake.period / 2));
    const stakeHeight =
      Math.sqrt(1 - (across / stake.half) ** 2) *
      (weaverOver ? 0.55 + (0.45 * Math.abs(down)) / (weaver.period / 2) : 1);
    const onWeaver = inWeaver && (!inStake || weaverOver);
    const h = onWeaver ? weaverHeight : stakeHeight;
    heights[y * side + x] = h;
    // Each strand its own shade; fibres run along it.
    const tone = onWeaver
      ? 0.85 + 0.3 * hash(row, 0, 1) + 0.16 * (hash(Math.floor(x / 7), y, 2) - 0.5)
      : 0.7 + 0.2 * hash(column, 0, 3) + 0.16 * (hash(x, Math.floor(y / 7), 4) - 0.5);
    const light = (0.55 + 0.45 * h) * tone * (0.94 + 0.12 * hash(x, y, 5));
    return [205 * light, 160 * light, 100 * light, 255];
  });
  const { document, scene } = model();
  const [colourPng, normalPng] = await Promise.all([png(colour), png(normalMap(heights, side, side, 2))]);
  const wicker = document
    .createMaterial('wicker')
    .setBaseColorTexture(texture(document, 'wicker colour', colourPng))
    .setNormalTexture(texture(document, 'wicker normals', normalPng))
    .setAlphaMode('MASK')
    .setAlphaCutoff(0.5)
    .setDoubleSided(true)
    .setRoughnessFactor(0.8)
    .setMetallicFactor(0);
  const radius = 0.5;
  const height = 0.6;
  // The wall takes the texture's top rows at the same texels per metre as round it; the
  // floor, seen through the open top, takes the whole square.
  const wallShare = height / (2 * Math.PI * radius);
  const wall = lathe((v) => [radius, v * height], 256, 32, (u, v) => [u, wallShare * (1 - v)]);
  const floor = lathe(
    (v) => [radius * v, 0],
    128,
    8,
    (u, v) => [0.5 + (v / 2) * Math.sin(2 * Math.PI * u), 0.5 + (v / 2) * Math.cos(2 * Math.PI * u)],
  );
  const cane = document.createMaterial('cane').setBaseColorFactor([0.45, 0.3, 0.15, 1]).setRoughnessFactor(0.7);
  const rim = torus(radius, 0.02, 128, 12);
  rim.positions = rim.positions.map((p, i) => (i % 3 === 1 ? p + height : p));
  scene.addChild(
    meshNode(
      document,
      'basket',
      primitive(document, merge([wall, floor]), wicker, { uv: true }),
      primitive(document, rim, cane),
    ),
  );
  return document;
}

// A stained-glass lamp: a shade of coloured panes in lead came (transmission, volume, IOR;
// the came opaque by the transmission texture) on a bronze foot, a bulb inside.
export async function stainedGlass() {
  const side = 2048;
  // The shade is about 4.8 times longer round than along its slope: panes are drawn in a
  // stretched grid so that on the lamp they come out about square.
  const stretch = 4.8;
  const cells = { across: 32, down: 8 };
  const size = { x: side / cells.across, y: side / cells.down };
  const seeds = random(18);
  const points = [];
  for (let j = 0; j < cells.down; j++) {
    for (let i = 0; i < cells.across; i++) {
      points.push([(i + 0.15 + 0.7 * seeds()) * size.x, (j + 0.15 + 0.7 * seeds()) * size.y]);
    }
  }
  // Nearest two seeds of a pixel (the grid wraps round the shade): a pixel near the line
  // between two panes is lead.
  const panes = new Int32Array(side * side);
  const lead = new Uint8Array(side * side);
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const ci = Math.floor(x / size.x);
      const cj = Math.floor(y / size.y);
      let first = Infinity;
      let second = Infinity;
      let nearest = 0;
      for (let dj = -1; dj <= 1; dj++) {
        const j = cj + dj;
        if (j < 0 || j >= cells.down) continue;
        for (let di = -1; di <= 1; di++) {
          const i = (ci + di + cells.across) % cells.across;
          const [px, py] = points[j * cells.across + i];
          const wrapped = px + (ci + di - i) * size.x;
          const d = Math.hypot(x - wrapped, (y - py) / stretch);
          if (d < first) [second, first, nearest] = [first, d, j * cells.across + i];
          else if (d < second) second = d;
        }
      }
      panes[y * side + x] = nearest;
      lead[y * side + x] = second - first < 5 || y < 24 || y >= side - 24 ? 1 : 0;
    }
  }
  const palette = [
    [225, 150, 40], [235, 170, 60], [60, 130, 70], [40, 100, 55], [175, 35, 45], [240, 220, 170], [45, 75, 160],
  ];
  const colour = paint(side, side, 3, (x, y) => {
    if (lead[y * side + x]) return [62, 56, 46];
    const pane = panes[y * side + x];
    const base = palette[Math.floor(hash(pane, 0, 6) * palette.length)];
    // Cathedral glass is mottled and streaked.
    const mottle = 0.9 + 0.1 * Math.sin(x / 9 + 3 * hash(pane, 1, 7) + Math.sin(y / 40)) + 0.05 * (hash(x, y, 8) - 0.5);
    return base.map((c) => c * mottle);
  });
  const transmission = paint(side, side, 1, (x, y) => [lead[y * side + x] ? 0 : 255]);
  // Roughness in green, metalness in blue: the came is rough metal, the glass smooth.
  const surface = paint(side, side, 3, (x, y) => (lead[y * side + x] ? [0, 150, 255] : [0, 20, 0]));
  const { document, scene } = model();
  const [colourPng, transmissionPng, surfacePng] = await Promise.all([png(colour), png(transmission), png(surface)]);
  const glass = document
    .createMaterial('stained glass')
    .setBaseColorTexture(texture(document, 'panes', colourPng))
    .setMetallicRoughnessTexture(texture(document, 'came', surfacePng));
  glass.setExtension(
    'KHR_materials_transmission',
    document
      .createExtension(KHRMaterialsTransmission)
      .createTransmission()
      .setTransmissionFactor(1)
      .setTransmissionTexture(texture(document, 'light through', transmissionPng)),
  );
  glass.setExtension(
    'KHR_materials_volume',
    document.createExtension(KHRMaterialsVolume).createVolume().setThicknessFactor(0.004).setAttenuationDistance(0.05),
  );
  glass.setExtension('KHR_materials_ior', document.createExtension(KHRMaterialsIOR).createIOR().setIOR(1.52));
  const bronze = document
    .createMaterial('bronze')
    .setBaseColorFactor([0.45, 0.3, 0.15, 1])
    .setMetallicFactor(1)
    .setRoughnessFactor(0.4);
  const bulb = document
    .createMaterial('bulb')
    .setBaseColorFactor([1, 0.95, 0.85, 1])
    .setEmissiveFactor([1, 0.8, 0.5]);
  // A dome from the rim up to the top opening, 75 degrees round. The glass is a closed shell,
  // as volume asks: an outer face, and an inner one 4 mm in, wound to face inwards.
  const dome = (radius) => (v) => [radius * Math.cos((v * 5 * Math.PI) / 12), 0.55 + (radius - 0.1) * Math.sin((v * 5 * Math.PI) / 12)];
  const outside = lathe(dome(0.5), 192, 48);
  const inside = lathe(dome(0.496), 192, 48);
  inside.indices = inside.indices.map((_, i, all) => all[i - (i % 3) + [0, 2, 1][i % 3]]);
  inside.normals = inside.normals.map((n) => -n);
  const foot = polyline([[0, 0], [0.28, 0], [0.3, 0.03], [0.12, 0.1], [0.04, 0.14], [0.03, 0.6], [0.13, 0.95], [0, 0.97]]);
  const globe = (radius, y) => (v) => [radius * Math.sin(Math.PI * v), y - radius * Math.cos(Math.PI * v)];
  scene.addChild(
    meshNode(
      document,
      'lamp',
      primitive(document, merge([outside, inside]), glass, { uv: true }),
      primitive(document, lathe(foot, 48, 56), bronze),
      primitive(document, lathe(globe(0.09, 0.68), 32, 16), bulb),
    ),
  );
  return document;
}

// A rubber ball with a grip of fine diagonal grooves and nubs: only the normal map says so.
export async function fineNormals() {
  const side = 2048;
  const heights = new Float32Array(side * side);
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const groove = 0.5 + 0.5 * Math.sin((2 * Math.PI * (x + y)) / 10);
      const nx = (x % 32) - 16;
      const ny = (y % 32) - 16;
      const nub = clamp(1 - Math.hypot(nx, ny) / 9);
      heights[y * side + x] = 0.4 * groove + 1.5 * Math.sqrt(nub) + 0.06 * hash(x, y, 9);
    }
  }
  const { document, scene } = model();
  const rubber = document
    .createMaterial('rubber')
    .setBaseColorFactor([0.35, 0.7, 0.05, 1])
    .setRoughnessFactor(0.45)
    .setMetallicFactor(0)
    .setNormalTexture(texture(document, 'grip', await png(normalMap(heights, side, side, 1.5))));
  const ball = (v) => [0.5 * Math.sin(Math.PI * v), -0.5 * Math.cos(Math.PI * v)];
  scene.addChild(meshNode(document, 'ball', primitive(document, lathe(ball, 128, 64), rubber, { uv: true })));
  return document;
}

// A raw RGB canvas to fill with rectangles (flat print is rectangles of ink) and pixels.
function canvas(width, height, background) {
  const data = Buffer.alloc(width * height * 3);
  for (let i = 0; i < data.length; i += 3) data.set(background, i);
  const image = { data, width, height, channels: 3 };
  image.put = (x, y, rgb) => data.set(rgb, (y * width + x) * 3);
  image.fill = (x, y, w, h, rgb) => {
    for (let row = Math.max(0, y); row < Math.min(height, y + h); row++) {
      for (let column = Math.max(0, x); column < Math.min(width, x + w); column++) data.set(rgb, (row * width + column) * 3);
    }
  };
  return image;
}

// Lines of text-like glyphs: each a 5 x 7 dot matrix of `dot` pixels, made up from `seed`.
function text(image, x, y, { dot, columns, lines, ink, seed }) {
  for (let line = 0; line < lines; line++) {
    for (let c = 0; c < columns; c++) {
      const glyph = Math.floor(hash(line, c, seed) * 60);
      if (glyph < 8) continue; // a space
      for (let b = 0; b < 35; b++) {
        if (hash(glyph, b, 11) < 0.45) image.fill(x + (c * 6 + (b % 5)) * dot, y + (line * 10 + Math.floor(b / 5)) * dot, dot, dot, ink);
      }
    }
  }
}

// A box of dry food: flat brand colours, a title, paragraphs, a table, a barcode and a photo,
// printed on a 4096 px atlas of its six faces at about 2900 texels a metre.
export async function printedBox() {
  const side = 4096;
  const [w, h, d] = [0.5, 0.7, 0.2];
  const px = 2900;
  const [fw, fh, dw] = [w * px, h * px, d * px].map(Math.round);
  const image = canvas(side, side, [246, 242, 232]);
  const teal = [0, 128, 140];
  const ink = [30, 30, 36];
  // Front: a teal band, the title, a photo of a bowl, a flash.
  image.fill(0, 0, fw, 520, teal);
  text(image, 60, 70, { dot: 22, columns: 10, lines: 2, ink: [255, 255, 255], seed: 1 });
  const photo = { x: 160, y: 700, w: 1130, h: 900 };
  for (let y = 0; y < photo.h; y++) {
    for (let x = 0; x < photo.w; x++) {
      const r = Math.hypot((x - photo.w / 2) / 420, (y - photo.h / 2) / 300);
      const bowl = r < 1 ? [120 - 40 * r, 70 - 20 * r, 35] : [200 - 30 * (y / photo.h), 210 - 30 * (y / photo.h), 220];
      const grain = 14 * (hash(x, y, 12) - 0.5);
      image.put(photo.x + x, photo.y + y, bowl.map((c) => clamp(c + grain, 0, 255)));
    }
  }
  image.fill(950, 1650, 420, 260, [230, 60, 40]);
  text(image, 980, 1690, { dot: 8, columns: 8, lines: 2, ink: [255, 255, 255], seed: 2 });
  text(image, 60, 1700, { dot: 6, columns: 24, lines: 3, ink, seed: 3 });
  // Back: paragraphs of small print and a barcode.
  image.fill(fw, 0, fw, 260, teal);
  text(image, fw + 50, 40, { dot: 12, columns: 18, lines: 1, ink: [255, 255, 255], seed: 4 });
  for (let p = 0; p < 4; p++) text(image, fw + 50, 330 + p * 330, { dot: 4, columns: 55, lines: 7, ink, seed: 5 + p });
  const bars = random(21);
  for (let x = fw + 800; x < fw + 1350; ) {
    const bar = 3 + Math.floor(bars() * 7);
    if (bars() < 0.5) image.fill(x, 1700, bar, 260, ink);
    x += bar;
  }
  // Sides: a nutrition table and the feeding guide; top and bottom: small print.
  for (const [x, seed] of [[2 * fw, 20], [2 * fw + dw, 30]]) {
    image.fill(x, 0, dw, 200, teal);
    for (let row = 0; row < 14; row++) {
      image.fill(x + 30, 300 + row * 90, dw - 60, 3, ink);
      text(image, x + 40, 320 + row * 90, { dot: 4, columns: 20, lines: 1, ink, seed: seed + row });
    }
  }
  text(image, 40, fh + 60, { dot: 5, columns: 40, lines: 6, ink, seed: 50 });
  text(image, fw + 40, fh + 60, { dot: 5, columns: 40, lines: 6, ink, seed: 60 });
  const { document, scene } = model();
  const print = document
    .createMaterial('printed card')
    .setBaseColorTexture(texture(document, 'print', await png(image)))
    .setRoughnessFactor(0.6)
    .setMetallicFactor(0);
  const rect = (x, y, rw, rh) => [x / side, y / side, (x + rw) / side, (y + rh) / side];
  const faces = [
    quad([-w / 2, -h / 2, d / 2], [w, 0, 0], [0, h, 0], rect(0, 0, fw, fh)),
    quad([w / 2, -h / 2, -d / 2], [-w, 0, 0], [0, h, 0], rect(fw, 0, fw, fh)),
    quad([w / 2, -h / 2, d / 2], [0, 0, -d], [0, h, 0], rect(2 * fw, 0, dw, fh)),
    quad([-w / 2, -h / 2, -d / 2], [0, 0, d], [0, h, 0], rect(2 * fw + dw, 0, dw, fh)),
    quad([-w / 2, h / 2, d / 2], [w, 0, 0], [0, 0, -d], rect(0, fh, fw, dw)),
    quad([-w / 2, -h / 2, -d / 2], [w, 0, 0], [0, 0, d], rect(fw, fh, fw, dw)),
  ];
  scene.addChild(meshNode(document, 'box', primitive(document, merge(faces), print, { uv: true })));
  return document;
}
