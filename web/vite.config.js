import { defineConfig } from 'vite';

export default defineConfig({
  build: {
    outDir: 'dist',
    assetsDir: 'assets', // hashed names: the gateway and CloudFront cache them for a year
    target: 'es2020',
    chunkSizeWarningLimit: 1500,
  },
  server: { proxy: { '/api': 'http://127.0.0.1:8080', '/models': 'http://127.0.0.1:8080' } },
});
