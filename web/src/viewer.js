// model-viewer (and three.js inside it) is most of the storefront's JavaScript: the grid and
// cart never load it, a product page loads it once.
let ready = null;

export function loadViewer() {
  ready ||= import('@google/model-viewer').then(({ ModelViewerElement }) => {
    // Draco and Basis already default to this site's copies (vite.config.js); meshopt has no
    // default, so it is named here.
    ModelViewerElement.meshoptDecoderLocation = '/decoders/meshopt/meshopt_decoder.js';
  });
  return ready;
}
