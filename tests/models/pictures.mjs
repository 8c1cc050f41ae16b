// Textures painted pixel by pixel into raw buffers and encoded as PNG with sharp, from seeded
// randomness only: the same bytes on every run.
import { sharp } from './deps.mjs';

// A sequence of numbers in [0, 1) (mulberry32): for placing things.
export function random(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// A number in [0, 1) for one pixel: noise that does not depend on the order pixels are painted.
export function hash(x, y, seed) {
  let h = Math.imul(x, 0x27d4eb2d) ^ Math.imul(y, 0x165667b1) ^ Math.imul(seed, 0x9e3779b9);
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296;
}

export const clamp = (value, low = 0, high = 1) => Math.min(high, Math.max(low, value));

// A raw image: `paint(x, y)` returns the pixel's channels, 0–255 (clamped: a Buffer would wrap).
export function paint(width, height, channels, paintPixel) {
  const data = Buffer.alloc(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const pixel = paintPixel(x, y);
      const at = (y * width + x) * channels;
      for (let c = 0; c < channels; c++) data[at + c] = Math.min(255, Math.max(0, pixel[c]));
    }
  }
  return { data, width, height, channels };
}

// A tangent-space normal map (+X right, +Y up, as glTF reads them) from a height field given
// as a Float32Array of `width` x `height`, wrapping at the edges; `strength` scales the slopes.
export function normalMap(heights, width, height, strength) {
  const at = (x, y) => heights[((y + height) % height) * width + ((x + width) % width)];
  return paint(width, height, 3, (x, y) => {
    const dx = (at(x + 1, y) - at(x - 1, y)) * strength;
    // Image rows run downwards, the texture's +Y upwards.
    const dy = (at(x, y - 1) - at(x, y + 1)) * strength;
    const length = Math.hypot(dx, dy, 1);
    return [(-dx / length) * 127.5 + 127.5, (-dy / length) * 127.5 + 127.5, (1 / length) * 127.5 + 127.5];
  });
}

export function png({ data, width, height, channels }) {
  return sharp(data, { raw: { width, height, channels } }).png().toBuffer();
}
