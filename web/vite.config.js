import { defineConfig } from 'vite';

// model-viewer's built-in defaults point at CDNs. The storefront serves its own copies
// (scripts/copy-decoders.mjs), so the defaults are rewritten at build time: no code path in
// the bundle can reach an outside host, whether or not a setter ran first. Lottie textures are
// not supported, so that loader points at a path the site does not serve.
const OWN_COPIES = [
  [/https:\/\/www\.gstatic\.com\/draco\/versioned\/decoders\/[\d.]+\//g, '/decoders/draco/'],
  [/https:\/\/www\.gstatic\.com\/basis-universal\/versioned\/[\w-]+\//g, '/decoders/basis/'],
  [
    /https:\/\/cdn\.jsdelivr\.net\/npm\/three@[\d.]+\/examples\/jsm\/loaders\/LottieLoader\.js/g,
    '/decoders/unsupported/LottieLoader.js',
  ],
];

function ownDecoders() {
  const seen = new Set();
  return {
    name: 'petshore-own-decoders',
    transform(code, id) {
      if (!id.includes('@google/model-viewer')) return null;
      let out = code;
      for (const [cdn, local] of OWN_COPIES) {
        if (out.match(cdn)) {
          seen.add(cdn);
          out = out.replace(cdn, local);
        }
      }
      return out === code ? null : { code: out, map: null };
    },
    buildEnd() {
      const missing = OWN_COPIES.filter(([cdn]) => !seen.has(cdn)).map(([cdn]) => cdn.source);
      // A model-viewer upgrade that moved its defaults must not slip a CDN back in unseen.
      if (missing.length) this.error(`model-viewer no longer uses: ${missing.join(', ')}`);
    },
  };
}

export default defineConfig({
  plugins: [ownDecoders()],
  build: {
    outDir: 'dist',
    assetsDir: 'assets', // hashed names: the gateway and CloudFront cache them for a year
    target: 'es2020',
    // model-viewer, and Swagger UI on the API pages only: each loaded where it is used.
    chunkSizeWarningLimit: 1700,
  },
  server: { proxy: { '/api': 'http://127.0.0.1:8080', '/models': 'http://127.0.0.1:8080' } },
});
