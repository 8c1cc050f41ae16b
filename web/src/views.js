// The storefront's pages. Each takes the route's parameters and returns an element.
import { ApiError, api, explain, money, stockOf } from './api.js';
import { addToCart, currentCart, setQuantity } from './cart.js';
import { alertBox, h, link } from './dom.js';
import { firstChoice, priceRange, soldSkus, variantPicker } from './variants.js';
import { loadViewer } from './viewer.js';

const PAGE_SIZE = 12;

export function stockText(available) {
  if (available <= 0) return 'Out of stock';
  if (available <= LOW_STOCK) return `Only ${available} left`;
  return 'In stock';
}

// Few enough left to say so in the warning colour, not the page's grey.
const LOW_STOCK = 5;
const stockClass = (available) => (available <= 0 ? 'stock out' : available <= LOW_STOCK ? 'stock low' : 'stock');

// A photo at the width the layout gives it (`sizes`): AVIF where the browser takes it, else
// WebP, each from its variants; the main image for a browser that takes neither.
function picture(image, sizes, attrs = {}) {
  const srcset = (format) =>
    image.variants
      .filter((v) => v.format === format)
      .map((v) => `${v.url} ${v.width}w`)
      .join(', ');
  return h(
    'picture',
    {},
    ['avif', 'webp'].map((format) =>
      srcset(format) ? h('source', { type: `image/${format}`, srcset: srcset(format), sizes }) : null,
    ),
    h('img', { src: image.url, alt: image.alt, width: image.width, height: image.height, ...attrs }),
  );
}

// A card's picture is a grid cell: the whole width on a phone, a column of at most ~20rem
// beside others from two columns up.
const CARD_SIZES = '(max-width: 34rem) calc(100vw - 4rem), 20rem';
// The product page's stage: the page's width on a phone, three fifths of at most 80rem beside
// the details.
const STAGE_SIZES = '(max-width: 720px) calc(100vw - 2rem), min(60vw, 46rem)';
const THUMB_SIZES = '5rem';

// A product with no photo and no model gets a drawn mark instead of an empty box.
function placeholder(item, tag = 'div') {
  return h(
    tag,
    { class: 'placeholder' },
    h('span', { class: 'paw', 'aria-hidden': 'true' }),
    tag === 'figure' ? h('figcaption', {}, `No pictures of ${item.name} yet`) : null,
  );
}

function card(product, available) {
  const [photo] = product.images || [];
  const poster = product.model && product.model.poster_url;
  const price = priceRange(product);
  const lazy = { alt: '', loading: 'lazy', decoding: 'async' };
  return h(
    'li',
    { class: 'card' },
    h(
      'div',
      { class: 'thumb', 'aria-hidden': 'true' },
      photo
        ? picture(photo, CARD_SIZES, lazy)
        : poster
          ? h('img', { src: poster, width: 320, height: 240, ...lazy })
          : placeholder(product),
    ),
    h('h2', {}, link(`/product/${encodeURIComponent(product.sku)}`, product.name)),
    product.model ? h('p', { class: 'has-model' }, h('span', { 'aria-hidden': 'true' }, '3D'), h('span', { class: 'visually-hidden' }, 'Has a 3D model')) : null,
    h('p', { class: 'price' }, price.from ? 'From ' : '', money(price.cents, product.currency)),
    available === undefined ? null : h('p', { class: stockClass(available) }, stockText(available)),
  );
}

// What a product has left: its own stock, or its variants' together.
function stockTotal(product, stock) {
  const counts = soldSkus(product).map((sku) => stock[sku]);
  return counts.some((n) => n !== undefined) ? counts.reduce((sum, n) => sum + (n ?? 0), 0) : undefined;
}

// The list's orders (GET /api/catalog/products `sort`); the first, no `sort` at all, is
// relevance for a search and the catalog's own order otherwise.
const SORTS = [
  ['price', 'Price, low to high'],
  ['-price', 'Price, high to low'],
  ['newest', 'Newest'],
  ['name', 'Name, A to Z'],
];

// A price the shopper typed, in whole units and cents ("12", "12.5"), as cents; '' for none.
function cents(text) {
  const match = /^\s*(\d{1,6})(?:[.,](\d{1,2}))?\s*$/.exec(text || '');
  return match ? String(Number(match[1]) * 100 + Number((match[2] || '0').padEnd(2, '0'))) : '';
}

// The page's filters live in its address (/?q=&sort=&min_price=&max_price=), so a plain form
// submission without JavaScript lands on the same listing; prices there are in units.
function searchForm(params, category) {
  const q = params.get('q') || '';
  const sort = params.get('sort') || '';
  const priceField = (name, label) =>
    h(
      'label',
      { class: 'price-field' },
      label,
      h('input', { name, type: 'text', inputmode: 'decimal', size: 6, pattern: '[0-9]{1,6}([.,][0-9]{1,2})?', value: params.get(name) || '' }),
    );
  const order = h(
    'select',
    { id: 'sort', name: 'sort' },
    h('option', { value: '' }, q ? 'Best match' : 'Catalog order'),
    SORTS.map(([value, label]) => h('option', { value, selected: value === sort }, label)),
  );
  const form = h(
    'form',
    { role: 'search', class: 'search', action: '/', method: 'get' },
    h('label', { for: 'q' }, 'Search'),
    h('input', { id: 'q', name: 'q', type: 'search', value: q }),
    category ? h('input', { type: 'hidden', name: 'category', value: category }) : null,
    h('label', { for: 'sort' }, 'Sort by'),
    order,
    priceField('min_price', 'From'),
    priceField('max_price', 'to'),
    h('button', { type: 'submit' }, 'Search'),
  );
  // A new order shows at once; the button does the same without JavaScript.
  order.addEventListener('change', () => form.requestSubmit());
  return form;
}

export async function home(params) {
  const category = params.get('category') || '';
  const q = params.get('q') || '';
  const root = h('section', { class: 'home' });
  const categories = await api('/api/catalog/categories');
  const search = searchForm(params, category);
  const nav = h(
    'nav',
    { 'aria-label': 'Categories', class: 'categories' },
    h(
      'ul',
      {},
      h('li', {}, link('/', 'All')),
      categories.items.map((c) =>
        h(
          'li',
          {},
          h(
            'a',
            {
              href: `/?category=${encodeURIComponent(c.slug)}`,
              'data-link': true,
              'aria-current': c.slug === category ? 'page' : false,
            },
            `${c.name} (${c.count})`,
          ),
        ),
      ),
    ),
  );
  const title = categories.items.find((c) => c.slug === category);
  const grid = h('ul', { class: 'grid', 'aria-live': 'polite' });
  const more = h('button', { type: 'button', class: 'more', hidden: true }, 'Load more');
  const status = h('p', { class: 'status', role: 'status' });
  let cursor = null;

  async function loadPage() {
    const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (category) query.set('category', category);
    if (q) query.set('q', q);
    if (params.get('sort')) query.set('sort', params.get('sort'));
    for (const bound of ['min_price', 'max_price']) {
      if (cents(params.get(bound))) query.set(`${bound}_cents`, cents(params.get(bound)));
    }
    if (cursor) query.set('cursor', cursor);
    more.disabled = true;
    const page = await api(`/api/catalog/products?${query}`);
    const stock = await stockOf(page.items.flatMap(soldSkus)).catch(() => ({}));
    const shown = grid.children.length;
    grid.append(...page.items.map((p) => card(p, stockTotal(p, stock))));
    // "Load more" is hidden once everything is shown: focus goes to the first product it
    // brought, where the shopper reads on, never to the page's start.
    if (shown) {
      grid.children[shown]?.querySelector('a')?.focus();
      status.textContent = `${page.items.length} more products shown.`;
    }
    cursor = page.next_cursor;
    more.hidden = !cursor;
    more.disabled = false;
    if (!grid.children.length) status.textContent = 'No products match.';
  }

  more.addEventListener('click', () =>
    loadPage().catch((error) => status.replaceWith(alertBox(explain(error)))),
  );
  // A refused filter (the lowest price above the highest) leaves the form there to mend it.
  await loadPage().catch((error) => status.replaceWith(alertBox(explain(error))));
  root.append(
    h('h1', { tabindex: '-1' }, title ? title.name : q ? `Results for “${q}”` : 'All products'),
    search,
    nav,
    grid,
    status,
    more,
  );
  return root;
}

// Fires once any of `events` happens on `target`.
const settled = (target, events) =>
  new Promise((resolve) => events.forEach((e) => target.addEventListener(e, resolve, { once: true })));

// Model files are immutable, so a download started early lands in the HTTP cache, where the
// viewer finds it. On a slow link the order is what counts: the poster first, then what the
// viewer shows first (the preview of a large model), then the full model, each at the link's
// whole speed instead of sharing it. Resolves when the full model is in the cache.
function downloadModel(model, poster) {
  const warm = (url) => fetch(url).then((response) => response.blob()).catch(() => null);
  const posterShown = poster ? settled(poster, ['load', 'error']) : Promise.resolve();
  const first = posterShown.then(() => warm(model.preview_url || model.glb_url));
  return model.preview_url ? first.then(() => warm(model.glb_url)) : first;
}

// Android's Scene Viewer is an app of its own that downloads the model itself, with none of
// this page's decoders: it is handed the model's AR GLB (plain glTF 2.0, docs/api.md). A
// link, since model-viewer's Scene Viewer mode always hands it the viewer's `src`; Firefox
// and Oculus browsers open no intent links (model-viewer leaves them out too).
const SCENE_VIEWER = /android/i.test(navigator.userAgent) && !/firefox|oculus/i.test(navigator.userAgent);

// The intent link Google documents for Scene Viewer (developers.google.com/ar/develop/scene-viewer):
// AR where the phone has ARCore, else the 3D view; without the app, back to this page.
function sceneViewerIntent(arUrl, title) {
  const page = new URL(window.location.href);
  page.hash = '';
  const query = new URLSearchParams({ file: new URL(arUrl, page).href, mode: 'ar_preferred', title });
  return `intent://arvr.google.com/scene-viewer/1.0?${query}#Intent;scheme=https;package=com.google.ar.core;`
    + `action=android.intent.action.VIEW;S.browser_fallback_url=${encodeURIComponent(page.href)};end;`;
}

// "View in your room": Quick Look with the model's USDZ on an iPhone or iPad (model-viewer
// shows its AR button only there), Scene Viewer with the AR GLB on Android. A model without
// AR files has neither: nothing is converted in the browser at tap time.
function arLink(item) {
  const { ar_url: arUrl } = item.model;
  if (!SCENE_VIEWER || !arUrl) return null;
  return h('a', { class: 'ar-button', href: sceneViewerIntent(arUrl, item.name) }, 'View in your room');
}

// A large model comes with a small preview: the viewer shows it first, then swaps to the full
// model, once downloaded, from where the shopper has turned it. `data-detail` says which one
// is on show.
function modelViewer(item, downloaded, note, look) {
  const { glb_url: full, preview_url: preview, poster_url: poster, ios_url: iosUrl } = item.model;
  const viewer = h(
    'model-viewer',
    {
      src: preview || full,
      poster,
      alt: `3D model of ${item.name}`,
      'camera-controls': true,
      'auto-rotate': true,
      'touch-action': 'pan-y',
      ar: Boolean(iosUrl),
      'ar-modes': 'quick-look',
      'ios-src': iosUrl,
      'shadow-intensity': '1',
      loading: 'eager',
      reveal: 'auto',
      'data-detail': preview ? 'preview' : 'full',
    },
    // Our own AR button: model-viewer's default one takes a positive tabindex, which breaks
    // the page's tab order. Shown only where the device can place the model.
    iosUrl && h('button', { slot: 'ar-button', type: 'button', class: 'ar-button' }, 'View in your room'),
  );
  // The chosen variant's material, where the model has it (the preview may not).
  look.apply = () => {
    const name = look.material;
    viewer.variantName = name && (viewer.availableVariants || []).includes(name) ? name : null;
  };
  viewer.addEventListener('load', look.apply);
  const percent = note.querySelector('.percent');
  viewer.addEventListener('progress', (event) => {
    percent.textContent = ` ${Math.round(event.detail.totalProgress * 100)}%`;
  });
  settled(viewer, ['load', 'error']).then((event) => {
    if (event.type === 'error') note.replaceChildren('The 3D model could not be shown.');
    else if (preview) note.replaceChildren('Loading full detail…');
    else note.remove();
  });
  const shown = [viewer, arLink(item), note].filter(Boolean);
  if (!preview) return shown;
  Promise.all([downloaded, settled(viewer, ['load', 'error'])]).then(() => {
    const { theta, phi, radius } = viewer.getCameraOrbit();
    viewer.setAttribute('camera-orbit', `${theta}rad ${phi}rad ${radius}m`);
    settled(viewer, ['load', 'error']).then(() => {
      viewer.dataset.detail = 'full';
      note.remove();
    });
    viewer.src = full;
  });
  return shown;
}

// The model's slide. The viewer element is made only once model-viewer has loaded and been
// told where the decoders are: an element made earlier would start loading the model without
// them. Until then the slide shows the poster (or a note), so the page is usable at once; a
// note says the model is on its way until it can be turned.
function modelSlide(item, look) {
  const poster = item.model.poster_url
    ? h('img', { class: 'poster', src: item.model.poster_url, alt: `Picture of ${item.name}` })
    : null;
  const note = h(
    'p',
    { class: 'detail-note loading', role: 'status' },
    'Loading the 3D model…',
    h('span', { class: 'percent', 'aria-hidden': 'true' }),
  );
  const slide = h('div', { class: 'slide' }, poster || h('div', { class: 'no-model' }), note);
  const downloaded = downloadModel(item.model, poster);
  loadViewer().then(() => slide.replaceChildren(...modelViewer(item, downloaded, note, look)));
  return slide;
}

// The 3D model first when there is one, then the photos in their order; one at a time on the
// stage, and a row of thumbnails to choose another: buttons, so Tab and Enter work, and the
// arrow keys, Home and End move along the row. Slides stay in the page when hidden, so the
// viewer keeps its model (and where the shopper turned it) while a photo is shown.
function gallery(item, look) {
  const slides = [];
  if (item.model) {
    const thumb = item.model.poster_url
      ? h('img', { src: item.model.poster_url, alt: '', loading: 'lazy' })
      : h('span', { class: 'badge' }, '3D');
    slides.push({ label: '3D model', el: modelSlide(item, look), thumb });
  }
  // A photo not on show first waits until it is shown (a hidden lazy image is not fetched):
  // on a slow link the 3D model, shown first, has the whole link to itself.
  item.images.forEach((image, i) =>
    slides.push({
      label: `Photo ${i + 1}${image.alt ? `: ${image.alt}` : ''}`,
      el: h(
        'div',
        { class: 'slide' },
        picture(image, STAGE_SIZES, { class: 'photo', decoding: 'async', loading: slides.length ? 'lazy' : null }),
      ),
      thumb: picture(image, THUMB_SIZES, { alt: '', loading: 'lazy' }),
    }),
  );
  if (!slides.length) return h('div', { class: 'stage' }, placeholder(item, 'figure'));
  const stage = h('div', { class: 'stage' }, slides.map((slide) => slide.el));
  if (slides.length === 1) return stage;
  let shown = 0;
  const buttons = slides.map((slide, i) =>
    h('button', { type: 'button', class: 'view', 'aria-label': slide.label, onclick: () => show(i) }, slide.thumb),
  );
  function show(i, focus = false) {
    shown = (i + slides.length) % slides.length;
    slides.forEach((slide, j) => (slide.el.hidden = j !== shown));
    buttons.forEach((button, j) => button.setAttribute('aria-pressed', String(j === shown)));
    if (focus) buttons[shown].focus();
  }
  const moves = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 };
  const views = h(
    'ul',
    {
      class: 'views',
      'aria-label': `Views of ${item.name}`,
      onkeydown: (event) => {
        const to =
          event.key in moves ? shown + moves[event.key] : event.key === 'Home' ? 0 : event.key === 'End' ? -1 : null;
        if (to === null) return;
        event.preventDefault();
        show(to, true);
      },
    },
    buttons.map((button) => h('li', {}, button)),
  );
  show(0);
  return h('div', { class: 'gallery' }, stage, views);
}

async function productOrNotFound(sku) {
  try {
    return await api(`/api/catalog/products/${encodeURIComponent(sku)}`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

export async function product(sku) {
  const asked = await productOrNotFound(sku);
  if (!asked) {
    return notFound('Product not found', 'We have no such product: the link may be mistyped, or it was removed from the shop.');
  }
  // A variant's address shows its product, with that variant chosen.
  const item = asked.variant_of ? await api(`/api/catalog/products/${encodeURIComponent(asked.variant_of)}`) : asked;
  if (item.model) loadViewer(); // starts fetching while the stock is looked up
  // Stock is the orders service's; if it cannot say, the shopper may still try (checkout
  // decides), rather than see a product that is there as sold out.
  const stock = await stockOf(soldSkus(item)).catch(() => null);
  // What the page sells: the product, or the chosen variant (its SKU, price and status).
  let sold = item.variants.length ? firstChoice(item.variants, asked.sku, stock) : item;
  const look = { material: sold.material_variant };
  const message = h('div', { 'aria-live': 'polite' });
  const offer = h('div', { class: 'offer' });
  const quantity = h('select', { id: 'quantity' });
  const add = h('button', { type: 'submit', class: 'primary' }, 'Add to cart');
  let soldOut = true;
  function show() {
    const available = stock && sold ? (stock[sold.sku] ?? 0) : null;
    const active = sold && sold.status === 'active';
    soldOut = !active || (available !== null && available <= 0);
    offer.replaceChildren(
      h('p', { class: 'price' }, money((sold || item).price_cents, item.currency)),
      !sold
        ? h('p', { class: 'stock out' }, 'Not sold in this combination')
        : !active
          ? h('p', { class: 'stock out' }, 'No longer sold')
          : available === null
            ? null
            : h('p', { class: soldOut ? 'stock out' : stockClass(available) }, stockText(available)),
    );
    const kept = Number(quantity.value) || 1;
    const most = Math.max(1, Math.min(10, available ?? 10));
    quantity.replaceChildren(
      ...Array.from({ length: most }, (_, i) => h('option', { value: i + 1, selected: i + 1 === Math.min(kept, most) }, i + 1)),
    );
    quantity.disabled = soldOut;
    add.disabled = soldOut;
  }
  const picker = item.variants.length
    ? variantPicker(item, sold, stock, (variant) => {
        sold = variant;
        message.replaceChildren();
        show();
        if (variant) {
          window.history.replaceState({}, '', `/product/${encodeURIComponent(variant.sku)}`);
          look.material = variant.material_variant;
          look.apply?.();
        }
      })
    : null;
  show();
  const form = h(
    'form',
    {
      class: 'buy',
      onsubmit: async (event) => {
        event.preventDefault();
        add.disabled = true;
        message.replaceChildren();
        try {
          const cart = await addToCart(sold.sku, Number(quantity.value));
          document.dispatchEvent(new CustomEvent('cart-changed', { detail: cart }));
          message.append(
            h('p', { class: 'ok', role: 'status' }, 'Added to your cart. ', link('/cart', 'View cart')),
          );
        } catch (error) {
          message.append(alertBox(explain(error)));
        } finally {
          add.disabled = soldOut;
        }
      },
    },
    h('label', { for: 'quantity' }, 'Quantity'),
    quantity,
    add,
  );
  return h(
    'article',
    { class: 'product' },
    gallery(item, look),
    h(
      'div',
      { class: 'details' },
      h('h1', { tabindex: '-1' }, item.name),
      offer,
      h('p', { class: 'description' }, item.description),
      picker,
      form,
      message,
      item.model
        ? h(
            'p',
            { class: 'size' },
            `3D model: ${(item.model.bytes / 1e6).toFixed(1)} MB`,
          )
        : null,
    ),
  );
}

// Each line with its product and what can be bought of it: the cart keeps what the shopper
// chose, and the page says, before checkout, what the shop can no longer sell.
async function cartLines(cart) {
  const skus = cart.items.map((line) => line.sku);
  const [products, stock] = await Promise.all([
    // Asked again (a revalidation, mostly a 304): a product seen a minute ago may be gone.
    Promise.all(skus.map((sku) => api(`/api/catalog/products/${encodeURIComponent(sku)}`, { fresh: true }).catch(() => null))),
    stockOf(skus).catch(() => null),
  ]);
  return cart.items.map((line, i) => {
    const product = products[i];
    const available = stock ? (stock[line.sku] ?? 0) : null; // null: not known just now
    let problem = null;
    if (!product || product.status !== 'active') problem = 'No longer sold';
    else if (available === 0) problem = 'Sold out';
    else if (available !== null && line.quantity > available) problem = `Only ${available} left`;
    return { ...line, product, available, problem };
  });
}

function availability(line) {
  if (line.problem) return h('span', { class: 'warn' }, line.problem);
  return line.available === null ? '' : stockText(line.available);
}

// The most a line may be set to: what is left (when known), and never over the cart's 99.
const cap = (line) => Math.min(99, line.available ?? 99);

export async function cartPage(navigate, said = '') {
  const cart = await currentCart();
  const root = h('section', { class: 'cart' }, h('h1', { tabindex: '-1' }, 'Your cart'), h('p', { class: 'ok', role: 'status' }, said));
  if (!cart || !cart.items.length) {
    root.append(h('p', {}, 'Your cart is empty. '), link('/', 'Browse products'));
    return root;
  }
  const lines = await cartLines(cart);
  const currency = lines.find((l) => l.product)?.product.currency || 'USD';
  const total = lines.reduce((sum, l) => sum + (l.product ? l.product.price_cents * l.quantity : 0), 0);
  const blocked = lines.some((l) => l.problem);
  const message = h('div', { 'aria-live': 'polite' });
  const refresh = async (sku, quantity) => {
    try {
      const updated = await setQuantity(sku, quantity);
      document.dispatchEvent(new CustomEvent('cart-changed', { detail: updated }));
      const next = await cartPage(navigate, quantity ? 'Cart updated.' : 'Removed from your cart.');
      root.replaceWith(next);
      // Focus stays where the shopper was: the line's quantity, or the cart's heading once
      // the line is gone (never the page's start).
      (next.querySelector(`input[data-sku="${CSS.escape(sku)}"]`) || next.querySelector('h1')).focus();
    } catch (error) {
      message.replaceChildren(alertBox(explain(error)));
    }
  };
  root.append(
    h(
      'table',
      {},
      h('caption', { class: 'visually-hidden' }, 'Items in your cart'),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Product'), h('th', { scope: 'col' }, 'Quantity'), h('th', { scope: 'col' }, 'Price'), h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Remove')))),
      h(
        'tbody',
        {},
        lines.map((line) =>
          h(
            'tr',
            {},
            h('td', {}, line.product ? link(`/product/${encodeURIComponent(line.sku)}`, line.product.name) : line.sku, h('br'), availability(line)),
            h(
              'td',
              {},
              h('input', {
                type: 'number',
                min: 0,
                max: cap(line),
                value: line.quantity,
                'data-sku': line.sku,
                'aria-label': `Quantity of ${line.product ? line.product.name : line.sku}`,
                onchange: (e) => refresh(line.sku, Math.max(0, Math.min(cap(line), Number(e.target.value) || 0))),
              }),
              line.problem && line.available > 0 && line.product && line.product.status === 'active'
                ? h('button', { type: 'button', class: 'link', onclick: () => refresh(line.sku, line.available) }, `Change to ${line.available}`)
                : null,
            ),
            h('td', {}, line.product ? money(line.product.price_cents * line.quantity, line.product.currency) : '—'),
            h(
              'td',
              {},
              h('button', { type: 'button', class: 'link', onclick: () => refresh(line.sku, 0), 'aria-label': `Remove ${line.product ? line.product.name : line.sku}` }, 'Remove'),
            ),
          ),
        ),
      ),
    ),
    h('p', { class: 'total' }, 'Total: ', h('strong', {}, money(total, currency))),
    message,
    blocked ? h('p', { class: 'warn', id: 'cart-blocked' }, 'Change or remove the items marked above to check out.') : null,
    h('button', { type: 'button', class: 'primary', disabled: blocked, 'aria-describedby': blocked ? 'cart-blocked' : null, onclick: () => navigate('/checkout') }, 'Checkout'),
  );
  return root;
}

export function notFound(title = 'Page not found', why = 'There is no page at this address.') {
  return h('section', {}, h('h1', { tabindex: '-1' }, title), h('p', {}, why), link('/', 'Back to the shop'));
}
