// The back office's products: the list with stock (and the low ones), one form to create or
// edit a product (catalog) and its stock (orders' inventory), photos and the 3D model.
import { api, money, stockOf } from './api.js';
import { alertBox, h, link } from './dom.js';
import { actionForm, fromMinor, input, problem, toMinor } from './admin-forms.js';
import { variantsSection } from './admin-variants.js';

export const LOW_STOCK = 5;
const CURRENCIES = ['USD', 'EUR', 'GBP', 'CAD', 'AUD', 'JPY'];
const MODEL_TYPES = { glb: 'model/gltf-binary', gltf: 'model/gltf+json', obj: 'model/obj', zip: 'application/zip' };
const PHOTO_TYPES = ['image/jpeg', 'image/png', 'image/webp', 'image/avif'];
const PIPELINE_POLL_MS = 1000;

// Every product of a status ('' for all), discontinued ones included: the back office's list.
async function allProducts(status) {
  const products = [];
  let cursor = null;
  do {
    const query = new URLSearchParams({ limit: '100' });
    if (status) query.set('status', status);
    if (cursor) query.set('cursor', cursor);
    const page = await api(`/api/catalog/admin/products?${query}`, { fresh: true });
    products.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return products;
}

async function stockFor(skus) {
  const counts = {};
  for (let i = 0; i < skus.length; i += 100) Object.assign(counts, await stockOf(skus.slice(i, i + 100)));
  return counts;
}

const LISTS = [
  ['', 'All products'],
  ['active', 'On sale'],
  ['discontinued', 'Discontinued'],
];

// A row of the lists: a product, or a variant (which links to its product's page).
function productRow(p, count) {
  const variants = !p.variant_of && p.variants.length;
  return h(
    'tr',
    { class: !variants && count <= LOW_STOCK ? 'low' : null },
    h('td', {}, link(`/admin/products/${encodeURIComponent(p.variant_of || p.sku)}`, p.sku)),
    h('td', {}, p.name),
    h('td', { class: 'num' }, money(p.price_cents, p.currency)),
    h('td', { class: 'num' }, variants ? `in ${variants} variants` : count),
    h('td', {}, p.status === 'active' ? 'yes' : 'discontinued'),
  );
}

function productTable(rows) {
  return h(
    'table',
    { class: 'admin-table' },
    h('thead', {}, h('tr', {}, ['SKU', 'Name', 'Price', 'In stock', 'On sale'].map((t) => h('th', { scope: 'col' }, t)))),
    rows,
  );
}

// What a SKU sells, or null for one the catalog no longer has.
async function soldAs(sku) {
  try {
    return await api(`/api/catalog/products/${encodeURIComponent(sku)}`, { fresh: true });
  } catch (error) {
    if (error.status === 404) return null;
    throw error;
  }
}

// The SKUs on sale with LOW_STOCK units or fewer, fewest first: the orders service finds them
// (GET /api/orders/inventory?at_most=), a page at a time, and the catalog names each one.
async function lowStockList() {
  const body = h('tbody');
  const more = h('button', { type: 'button', hidden: true }, 'More low stock');
  const empty = h('p', { hidden: true }, 'Nothing on sale is running low.');
  const said = h('div', { 'aria-live': 'polite' });
  const table = productTable(body);
  let cursor = null;
  async function load() {
    const query = new URLSearchParams({ at_most: String(LOW_STOCK), limit: '50' });
    if (cursor) query.set('cursor', cursor);
    const page = await api(`/api/orders/inventory?${query}`);
    const products = await Promise.all(page.items.map((item) => soldAs(item.sku)));
    const first = body.children.length;
    page.items.forEach((item, i) => {
      const p = products[i];
      // Not on sale: a discontinued SKU, or a product sold only as its variants.
      if (p && p.status === 'active' && !(p.variants.length && !p.variant_of)) body.append(productRow(p, item.available));
    });
    cursor = page.next_cursor;
    more.hidden = !cursor;
    table.hidden = !body.children.length;
    empty.hidden = Boolean(body.children.length || cursor);
    // Load more: the keyboard goes on at the first row it brought.
    if (first && body.children[first]) body.children[first].querySelector('a').focus();
  }
  more.addEventListener('click', () => {
    said.replaceChildren();
    load().catch((error) => said.replaceChildren(alertBox(problem(error))));
  });
  await load();
  return [table, empty, said, more];
}

export async function productsPage(url) {
  const low = url.searchParams.get('low') === '1';
  const status = low ? null : url.searchParams.get('status') || '';
  let list;
  if (low) {
    list = await lowStockList();
  } else {
    const products = await allProducts(status);
    const stock = await stockFor(products.map((p) => p.sku));
    list = products.length ? productTable(h('tbody', {}, products.map((p) => productRow(p, stock[p.sku])))) : h('p', {}, 'No products here.');
  }
  return h(
    'section',
    {},
    h('h1', { tabindex: '-1' }, low ? 'Low stock' : 'Products and stock'),
    h(
      'nav',
      { 'aria-label': 'Which products' },
      h(
        'ul',
        { class: 'inline-list' },
        [
          ...LISTS.map(([value, label]) => [value === status, value ? `/admin/products?status=${value}` : '/admin/products', label]),
          [low, '/admin/products?low=1', `On sale, ${LOW_STOCK} or fewer in stock`],
        ].map(([here, href, label]) => h('li', {}, h('a', { href, 'data-link': true, 'aria-current': here ? 'page' : null }, label))),
      ),
    ),
    h('p', {}, link('/admin/products/new', 'New product')),
    list,
  );
}

function textarea(label, name, value) {
  const id = `a-${name}`;
  return h('p', { class: 'field' }, h('label', { for: id }, label), h('textarea', { id, name, rows: 4, maxlength: 5000 }, value || ''));
}

function currencySelect(selected) {
  return h(
    'p',
    { class: 'field' },
    h('label', { for: 'a-currency' }, 'Currency'),
    h('select', { id: 'a-currency', name: 'currency' }, CURRENCIES.map((c) => h('option', { value: c, selected: c === selected }, c))),
  );
}

// Marks the inputs an error names, so a screen reader and the eye find them.
function markFields(form, error) {
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  for (const name of (error.details && error.details.fields) || []) {
    const el = form.querySelector(`[name="${CSS.escape(name === 'price_cents' ? 'price' : name)}"]`);
    if (el) el.setAttribute('aria-invalid', 'true');
  }
}

function productFields(product) {
  return [
    input('SKU', 'sku', { required: true, pattern: '[A-Z0-9][A-Z0-9\\-]{1,63}', value: product ? product.sku : '', readonly: Boolean(product), autocapitalize: 'characters' }),
    input('Name', 'name', { required: true, maxlength: 200, value: product ? product.name : '' }),
    textarea('Description', 'description', product && product.description),
    input('Category (a slug: toys, beds…)', 'category', { required: true, pattern: '[a-z0-9\\-]+', value: product ? product.category : '' }),
    input('Price', 'price', { required: true, inputmode: 'decimal', value: product ? fromMinor(product.price_cents, product.currency) : '' }),
    currencySelect(product ? product.currency : 'USD'),
  ];
}

function productBody(data) {
  const currency = data.get('currency');
  return {
    sku: data.get('sku'),
    name: data.get('name'),
    description: data.get('description'),
    category: data.get('category'),
    price_cents: toMinor(data.get('price'), currency),
    currency,
  };
}

// What the next product page says first: the outcome of what led there (a new product whose
// stock could not be set), by SKU.
const notes = new Map();

function setStock(sku, available, reason) {
  return api(`/api/orders/inventory/${encodeURIComponent(sku)}`, { method: 'PUT', body: { available, reason } });
}

function newProductForm(navigate) {
  const form = actionForm(
    'Create the product',
    async (data) => {
      const body = productBody(data);
      try {
        await api('/api/catalog/products', { method: 'POST', body });
      } catch (error) {
        markFields(form, error);
        throw error;
      }
      const page = `/admin/products/${encodeURIComponent(body.sku)}`;
      try {
        await setStock(body.sku, Number(data.get('stock')), 'initial stock');
      } catch (error) {
        // The product exists now: creating it again would be refused as a duplicate. Its page,
        // whose form sets the stock, says what is left to do.
        notes.set(body.sku, alertBox(`Created, but its stock was not set (${problem(error)}). Set the units in stock below.`));
        navigate(page);
        return 'Created; its stock was not set.';
      }
      navigate(page);
      return 'Created.';
    },
    ...productFields(null),
    input('Units in stock', 'stock', { type: 'number', min: 0, required: true, value: '0' }),
  );
  return form;
}

// The product's fields and, for a product sold as one SKU, its units in stock: one form,
// saved to the catalog and then to the inventory.
function editForm(product, count, refresh) {
  const sold = !product.variants.length;
  const form = actionForm(
    'Save changes',
    async (data) => {
      const wanted = productBody(data);
      const changes = {};
      for (const [name, value] of Object.entries(wanted)) if (name !== 'sku' && value !== product[name]) changes[name] = value;
      // Only a count changed here is sent: an untouched one would undo the sales made since
      // the page was opened.
      const stock = sold ? Number(data.get('stock')) : count;
      if (!Object.keys(changes).length && stock === count) return 'Nothing changed.';
      let saved = product;
      try {
        if (Object.keys(changes).length) saved = await api(`/api/catalog/products/${encodeURIComponent(product.sku)}`, { method: 'PATCH', body: changes });
      } catch (error) {
        markFields(form, error);
        throw error;
      }
      if (stock !== count) {
        try {
          await setStock(product.sku, stock, 'set with the product');
        } catch (error) {
          const outcome = `${saved === product ? 'The' : 'Saved, but the'} stock was not set (${problem(error)}): it is still ${count}.`;
          await refresh(saved, alertBox(outcome));
          return outcome;
        }
      }
      await refresh(saved, 'Saved.');
      return 'Saved.';
    },
    ...productFields(product),
    sold ? input('Units in stock', 'stock', { type: 'number', min: 0, required: true, value: String(count) }) : null,
  );
  return form;
}

function statusSection(product, refresh) {
  const path = `/api/catalog/products/${encodeURIComponent(product.sku)}`;
  const active = product.status === 'active';
  return h(
    'div',
    {},
    h('h2', {}, 'On sale'),
    h('p', {}, active ? 'Listed in the shop.' : 'Discontinued: not listed; its page and model files are kept in cold storage.'),
    actionForm(active ? 'Discontinue' : 'List it again', async () => {
      if (active) await refresh(await api(path, { method: 'DELETE' }), 'Discontinued.');
      else await refresh(await api(path, { method: 'PATCH', body: { status: 'active' } }), 'Listed again.');
    }),
  );
}

// The stock's changes by hand, and one made with a reason (a delivery, a breakage); the count
// itself is set in the product's form.
async function stockSection(product, count, refresh) {
  if (product.variants.length) {
    // Checkout takes a variant's SKU, never the product's own: its stock would sell nothing.
    return h('div', {}, h('h2', {}, 'Stock'), h('p', {}, 'Sold in variants: each has its own stock, under Options and variants.'));
  }
  const sku = encodeURIComponent(product.sku);
  const moves = await api(`/api/orders/inventory/${sku}/movements?limit=10`);
  return h(
    'div',
    {},
    h('h2', {}, 'Stock'),
    h('p', {}, 'Units in stock: ', h('strong', {}, String(count))),
    actionForm(
      'Adjust',
      async (data) => {
        const answer = await api(`/api/orders/inventory/${sku}/adjustments`, { method: 'POST', body: { delta: Number(data.get('delta')), reason: data.get('reason') } });
        await refresh(product, `${answer.available} in stock.`);
        return `${answer.available} in stock.`;
      },
      input('Add (or take away, with a minus)', 'delta', { type: 'number', required: true }),
      input('Why', 'reason', { required: true, maxlength: 200 }),
    ),
    h('h3', {}, 'Latest changes'),
    h('ol', { class: 'history' }, moves.items.map((m) => h('li', {}, `${new Date(m.at).toLocaleString()}: ${m.delta > 0 ? '+' : ''}${m.delta} → ${m.available} (${m.reason}, by ${m.actor})`))),
  );
}

// A PUT of the file to a presigned URL, reporting progress (fetch cannot, for uploads).
function putFile(ticket, file, bar) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open('PUT', ticket.put_url);
    for (const [name, value] of Object.entries(ticket.headers || {})) request.setRequestHeader(name, value);
    request.upload.addEventListener('progress', (event) => {
      if (event.lengthComputable) bar.value = event.loaded / event.total;
    });
    request.addEventListener('load', () => (request.status < 300 ? resolve() : reject(new Error(`The upload was refused (${request.status}).`))));
    request.addEventListener('error', () => reject(new Error('The upload did not get through. Try again.')));
    request.send(file);
  });
}

function photosSection(product, refresh) {
  const path = `/api/catalog/products/${encodeURIComponent(product.sku)}`;
  const images = product.images || [];
  const order = images.map((i) => i.image_id);
  // A button's change to the photos; how it went is said at the top of the page.
  const act = (call, said) => async () => {
    try {
      await refresh(await call(), said);
    } catch (error) {
      await refresh(product, alertBox(problem(error)));
    }
  };
  const move = (index, by) =>
    act(() => {
      const next = [...order];
      [next[index], next[index + by]] = [next[index + by], next[index]];
      return api(path, { method: 'PATCH', body: { image_order: next } });
    }, `Photo ${index + 1} moved ${by < 0 ? 'earlier' : 'later'}.`);
  const bar = h('progress', { max: 1, value: 0, 'aria-label': 'Photo upload' });
  return h(
    'div',
    {},
    h('h2', {}, 'Photos'),
    images.length
      ? h(
          'ol',
          { class: 'photos' },
          images.map((image, index) =>
            h(
              'li',
              {},
              h('img', { src: image.url, alt: image.alt, width: 120, height: Math.round((120 * image.height) / image.width), loading: 'lazy' }),
              h('span', {}, image.alt),
              h('button', { type: 'button', disabled: index === 0, onclick: move(index, -1), 'aria-label': `Move photo ${index + 1} earlier` }, '↑'),
              h('button', { type: 'button', disabled: index === images.length - 1, onclick: move(index, 1), 'aria-label': `Move photo ${index + 1} later` }, '↓'),
              h('button', { type: 'button', onclick: act(() => api(`${path}/images/${encodeURIComponent(image.image_id)}`, { method: 'DELETE' }), 'Photo removed.') }, `Remove photo ${index + 1}`),
            ),
          ),
        )
      : h('p', {}, 'No photos yet.'),
    actionForm(
      'Upload the photo',
      async (data, status) => {
        const file = data.get('photo');
        if (!file || !file.size) throw new Error('Choose a photo first.');
        if (!PHOTO_TYPES.includes(file.type)) throw new Error('Photos are JPEG, PNG, WebP or AVIF files.');
        const ticket = await api(`${path}/image-uploads`, {
          method: 'POST',
          body: { filename: file.name, content_type: file.type, bytes: file.size, alt: data.get('alt') },
        });
        await putFile(ticket, file, bar);
        status.replaceChildren('Making the photo’s sizes…');
        await refresh(await api(`${path}/image-uploads/${encodeURIComponent(ticket.upload_id)}/complete`, { method: 'POST' }), 'Photo added.');
        return 'Photo added.';
      },
      input('Photo', 'photo', { type: 'file', accept: PHOTO_TYPES.join(','), required: true }),
      input('Describe it for those who cannot see it', 'alt', { required: true, maxlength: 200 }),
      bar,
    ),
  );
}

const kb = (bytes) => (bytes == null ? '—' : `${Math.max(1, Math.round(bytes / 1024))} KB`);

// The settings a step chose and how close its result looks to the original.
function chosen(step) {
  if (!step.settings) return '';
  const figures = [
    step.psnr == null ? null : `PSNR ${step.psnr.toFixed(1)} dB`,
    step.ssim == null ? null : `SSIM ${step.ssim.toFixed(3)}`,
  ].filter(Boolean);
  const tried = step.tried?.length > 1 ? `, ${step.tried.length} tried` : '';
  return `${step.settings}${figures.length ? ` (${figures.join(', ')})` : ''}${tried}`;
}

// What the model pipeline did to an upload: each step, its time, the file's size around it,
// and for the quality search and the preview the settings chosen.
function stepReport(upload) {
  return h(
    'table',
    { class: 'steps' },
    h('caption', {}, `How ${upload.filename} was prepared`),
    h(
      'thead',
      {},
      h('tr', {}, ['Step', 'Time', 'Before', 'After', 'Settings'].map((title) => h('th', { scope: 'col' }, title))),
    ),
    h(
      'tbody',
      {},
      upload.steps.map((step) =>
        h(
          'tr',
          {},
          h('th', { scope: 'row' }, step.name),
          h('td', {}, `${step.ms} ms`),
          h('td', {}, kb(step.bytes_in)),
          h('td', {}, step.error ? `not made: ${step.error}` : kb(step.bytes_out)),
          h('td', {}, chosen(step)),
        ),
      ),
    ),
  );
}

function modelSection(product, refresh) {
  const path = `/api/catalog/products/${encodeURIComponent(product.sku)}`;
  const bar = h('progress', { max: 1, value: 0, 'aria-label': '3D model upload' });
  const model = product.model;
  return h(
    'div',
    {},
    h('h2', {}, '3D model'),
    model
      ? h(
          'div',
          { class: 'model-facts' },
          model.poster_url ? h('img', { src: model.poster_url, alt: `The 3D model of ${product.name}`, width: 160, height: 160 }) : null,
          h('p', {}, `${kb(model.bytes)} as published (uploaded: ${kb(model.original_bytes)})`),
          actionForm('Remove the 3D model', async () => refresh(await api(`${path}/model`, { method: 'DELETE' }), '3D model removed.')),
        )
      : h('p', {}, 'No 3D model yet.'),
    actionForm(
      model ? 'Replace the 3D model' : 'Upload the 3D model',
      async (data, status) => {
        const file = data.get('model');
        if (!file || !file.size) throw new Error('Choose a model file first.');
        const type = MODEL_TYPES[file.name.split('.').pop().toLowerCase()];
        if (!type) throw new Error('3D models are .glb, .gltf, .obj or .zip files.');
        const ticket = await api(`${path}/model-uploads`, { method: 'POST', body: { filename: file.name, content_type: type, bytes: file.size } });
        await putFile(ticket, file, bar);
        status.replaceChildren('Checking and optimising the model…');
        const complete = `${path}/model-uploads/${encodeURIComponent(ticket.upload_id)}`;
        let upload = await api(`${complete}/complete`, { method: 'POST', headers: { Prefer: 'respond-async' } });
        while (upload.status === 'processing' || upload.status === 'pending') {
          status.replaceChildren(`The pipeline is ${upload.status === 'pending' ? 'about to start' : 'at work'}…`);
          await new Promise((resolve) => setTimeout(resolve, PIPELINE_POLL_MS));
          upload = await api(complete);
        }
        if (upload.status === 'failed') throw new Error(`The model was not taken: ${upload.error}`);
        await refresh(await api(path, { fresh: true }), h('div', {}, h('p', {}, 'Model published.'), stepReport(upload)));
        return 'Model published.';
      },
      input('Model file', 'model', { type: 'file', accept: '.glb,.gltf,.obj,.zip', required: true }),
      bar,
    ),
  );
}

export async function productPage(sku, navigate) {
  if (!sku) return h('section', {}, h('h1', { tabindex: '-1' }, 'New product'), newProductForm(navigate));
  const holder = h('div');
  const message = h('div', { 'aria-live': 'polite', tabindex: '-1' });
  // `said`: how the last change went, kept on the page that the change re-renders.
  async function show(product, said = null) {
    message.replaceChildren(...(said ? [said] : []));
    const count = (await stockOf([product.sku]))[product.sku];
    const parts = [
      h('h1', { tabindex: '-1' }, product.name),
      h('p', {}, link(`/product/${encodeURIComponent(product.sku)}`, 'See it in the shop'), ' · ', link('/admin/products', 'All products')),
      message,
      editForm(product, count, show),
      statusSection(product, show),
      await stockSection(product, count, show),
      await variantsSection(product, show),
      photosSection(product, show),
      modelSection(product, show),
    ];
    holder.replaceChildren(...parts);
    // The form that was used is gone: its outcome, at the top, is where the keyboard goes on.
    if (said) message.focus();
  }
  const note = notes.get(sku);
  notes.delete(sku);
  try {
    await show(await api(`/api/catalog/products/${encodeURIComponent(sku)}`, { fresh: true }), note);
  } catch (error) {
    holder.replaceChildren(h('h1', { tabindex: '-1' }, 'Product'), alertBox(problem(error)));
  }
  return holder;
}
