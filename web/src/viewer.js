// model-viewer (and three.js inside it) is most of the storefront's JavaScript: the grid and
// cart never load it, a product page loads it once.
let ready = null;

export function loadViewer() {
  ready ||= import('@google/model-viewer').then(({ ModelViewerElement }) => {
    // Decoders for compressed models come from this site, never from a CDN.
    ModelViewerElement.dracoDecoderLocation = '/decoders/draco/';
    ModelViewerElement.ktx2TranscoderLocation = '/decoders/basis/';
    ModelViewerElement.meshoptDecoderLocation = '/decoders/meshopt/meshopt_decoder.js';
  });
  return ready;
}
