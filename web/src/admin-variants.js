// A product's options (colour, size…) and its variants: every combination of the options'
// values, each sold under its own SKU with its own price, status, stock and the 3D model's
// material variant. One form: the catalog takes the whole set at once (PUT …/variants), then
// each variant's stock goes to the orders service's inventory.
import { ApiError, api, stockOf } from './api.js';
import { clearProblems, labelled, showProblems } from './address.js';
import { alertBox, h } from './dom.js';
import { actionForm, fromMinor, toMinor } from './admin-forms.js';

// The catalog's limits (services/catalog/rules.py): a grid larger than the catalog takes is
// not drawn, only said.
const MAX_OPTIONS = 3;
const MAX_VARIANTS = 100;
const GLB_MAGIC = 0x46546c67; // "glTF"

// A GLB's JSON chunk, asked for by byte range: the model's names, not its megabytes.
async function glbJson(url) {
  const bytes = async (from, to) => {
    const answer = await fetch(url, { headers: { Range: `bytes=${from}-${to}` } });
    if (!answer.ok) throw new Error(`model file: ${answer.status}`);
    const data = await answer.arrayBuffer();
    // A server that ignores Range sends the whole file.
    return answer.status === 206 ? data : data.slice(from, to + 1);
  };
  const head = new DataView(await bytes(0, 19));
  if (head.getUint32(0, true) !== GLB_MAGIC) return {};
  const length = head.getUint32(12, true);
  return JSON.parse(new TextDecoder().decode(await bytes(20, 19 + length)));
}

// The material variants the product's model can show (KHR_materials_variants), by name.
async function modelVariants(product) {
  if (!product.model) return [];
  try {
    const json = await glbJson(product.model.glb_url);
    return ((json.extensions && json.extensions.KHR_materials_variants && json.extensions.KHR_materials_variants.variants) || []).map((v) => v.name);
  } catch {
    return []; // a text field then, as for a product without a model
  }
}

// Short codes for one option's values, for suggested SKUs: "Sky blue" → "SB", "42" → "42";
// values whose codes would be the same are spelt out whole ("Red", "Rose" → "RED", "ROSE").
export function valueCodes(values) {
  const plain = values.map((v) => v.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toUpperCase());
  const short = plain.map((v) =>
    v
      .split(/[^A-Z0-9]+/)
      .filter(Boolean)
      .map((word) => (/^[0-9]+$/.test(word) ? word : word[0]))
      .join(''),
  );
  return plain.map((v, i) => (short[i] && short.indexOf(short[i]) === short.lastIndexOf(short[i]) ? short[i] : v.replace(/[^A-Z0-9]+/g, '')));
}

// Every choice the options make, as lists of values in the options' order.
function combinations(options) {
  if (!options.length) return [];
  return options.reduce((made, option) => made.flatMap((choice) => option.values.map((value) => [...choice, value])), [[]]);
}

const splitValues = (text) =>
  text
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);

// One cell of the grid: a control named by its column's and its row's headers, with a slot
// for the server's problem with it.
function cell(field, control) {
  return h('td', { 'data-field': field }, control, h('span', { class: 'field-error', id: `${control.id}-error`, hidden: true }));
}

export async function variantsSection(product, refresh) {
  const heading = h('h2', {}, 'Options and variants');
  if (product.status !== 'active') {
    // A discontinued product's variants all read as discontinued: their own statuses are
    // not shown, so they are not edited until the product is listed again.
    return h('div', {}, heading, h('p', {}, 'List the product again to change its options and variants.'));
  }
  const skus = product.variants.map((v) => v.sku);
  const [stock, materials] = await Promise.all([stockOf(skus), modelVariants(product)]);
  // The variants as saved, by their choice: what the grid starts from and keeps.
  const saved = new Map(
    product.variants.map((v) => [
      JSON.stringify(product.options.map((o) => v.options[o.name])),
      {
        sku: v.sku,
        // The catalog answers a variant without a price of its own at the product's price:
        // that price is shown as "the product's", so the variant keeps following it.
        price: v.price_cents === product.price_cents ? '' : fromMinor(v.price_cents, product.currency),
        status: v.status,
        material: v.material_variant || '',
        stock: String(stock[v.sku] ?? 0),
      },
    ]),
  );

  const optionList = h('div', { class: 'options' });
  const grid = h('div', { class: 'variant-grid' });
  // Says how many variants the options make, as they change.
  const said = h('p', { role: 'status' });
  const addOption = h('button', { type: 'button' }, 'Add an option');

  function readOptions() {
    return [...optionList.querySelectorAll('fieldset')].map((set) => ({
      name: set.querySelector('[name$=".name"]').value.trim(),
      values: splitValues(set.querySelector('[name$=".values"]').value),
    }));
  }

  function drawOptions(options) {
    optionList.replaceChildren(
      ...options.map((option, i) =>
        h(
          'fieldset',
          { class: 'option' },
          h('legend', {}, `Option ${i + 1}`),
          labelled('Name', `options.${i}.name`, h('input', { id: `v-option-${i}`, name: `options.${i}.name`, value: option.name, maxlength: 40, placeholder: 'Colour' })),
          labelled('Values, separated by commas', `options.${i}.values`, h('input', { id: `v-values-${i}`, name: `options.${i}.values`, value: option.values.join(', '), placeholder: 'Red, Blue' })),
          h('button', { type: 'button', onclick: () => removeOption(i) }, `Remove option ${i + 1}`),
        ),
      ),
    );
    addOption.disabled = options.length >= MAX_OPTIONS;
  }

  function removeOption(index) {
    drawOptions(readOptions().filter((_, i) => i !== index));
    drawGrid();
    addOption.focus();
  }

  // The grid's rows as typed, by their choice, so a new grid keeps what was typed.
  function readRows() {
    const rows = new Map(saved);
    for (const row of grid.querySelectorAll('tbody tr')) {
      const value = (name) => row.querySelector(`[name$=".${name}"]`).value;
      rows.set(row.dataset.choice, { sku: value('sku'), price: value('price'), status: value('status'), material: value('material'), stock: value('stock') });
    }
    return rows;
  }

  function materialControl(id, name, chosen, label) {
    if (!materials.length) return h('input', { id, name, value: chosen, maxlength: 64, 'aria-labelledby': label });
    const names = materials.includes(chosen) || !chosen ? materials : [chosen, ...materials];
    return h(
      'select',
      { id, name, 'aria-labelledby': label },
      h('option', { value: '' }, 'As the model is'),
      names.map((n) => h('option', { value: n, selected: n === chosen }, n)),
    );
  }

  // The options that make variants: named, with values.
  const completeOptions = () => readOptions().filter((o) => o.name && o.values.length);

  function drawGrid() {
    const typed = readRows();
    const options = completeOptions();
    const choices = combinations(options);
    if (choices.length > MAX_VARIANTS) {
      said.textContent = `These options make ${choices.length} variants; a product has at most ${MAX_VARIANTS}.`;
      grid.replaceChildren();
      return;
    }
    said.textContent = choices.length ? `${choices.length} variant${choices.length === 1 ? '' : 's'}.` : 'No variants: the product is sold as one SKU.';
    const codes = options.map((o) => valueCodes(o.values));
    const rows = choices.map((choice, i) => {
      const key = JSON.stringify(choice);
      const suggested = `${product.sku}-${choice.map((value, k) => codes[k][options[k].values.indexOf(value)]).join('')}`;
      const row = typed.get(key) || { sku: suggested, price: '', status: 'active', material: '', stock: '0' };
      const id = (name) => `v-${i}-${name}`;
      const label = (column) => `v-col-${column} ${id('label')}`;
      return h(
        'tr',
        { 'data-choice': key },
        h('th', { scope: 'row', 'data-field': `variants.${i}.options` }, h('span', { id: id('label') }, choice.join(' / ')), h('span', { class: 'field-error', id: `${id('choice')}-error`, hidden: true })),
        cell(`variants.${i}.sku`, h('input', { id: id('sku'), name: `variants.${i}.sku`, value: row.sku, required: true, pattern: '[A-Z0-9][A-Z0-9\\-]{1,63}', 'aria-labelledby': label('sku') })),
        cell(`variants.${i}.price_cents`, h('input', { id: id('price'), name: `variants.${i}.price`, value: row.price, inputmode: 'decimal', 'aria-labelledby': label('price') })),
        cell(
          `variants.${i}.status`,
          h(
            'select',
            { id: id('status'), name: `variants.${i}.status`, 'aria-labelledby': label('status') },
            h('option', { value: 'active', selected: row.status === 'active' }, 'On sale'),
            h('option', { value: 'discontinued', selected: row.status === 'discontinued' }, 'Discontinued'),
          ),
        ),
        cell(`variants.${i}.material_variant`, materialControl(id('material'), `variants.${i}.material`, row.material, label('material'))),
        cell(`variants.${i}.stock`, h('input', { id: id('stock'), name: `variants.${i}.stock`, value: row.stock, type: 'number', min: 0, required: true, 'aria-labelledby': label('stock') })),
      );
    });
    const columns = [
      ['choice', 'Variant'],
      ['sku', 'SKU'],
      ['price', `Its own price (${product.currency}; empty: the product's)`],
      ['status', 'Status'],
      ['material', 'Material variant of the 3D model'],
      ['stock', 'In stock'],
    ];
    grid.replaceChildren(
      rows.length
        ? h(
            'table',
            { class: 'admin-table' },
            h('caption', {}, 'Variants'),
            h('thead', {}, h('tr', {}, columns.map(([key, title]) => h('th', { scope: 'col', id: `v-col-${key}` }, title)))),
            h('tbody', {}, rows),
          )
        : '',
    );
  }

  addOption.addEventListener('click', () => {
    drawOptions([...readOptions(), { name: '', values: [] }]);
    optionList.querySelector('fieldset:last-child input').focus();
  });
  // A change to an option redraws the grid at once, so what is saved is what is shown.
  optionList.addEventListener('change', drawGrid);

  const form = actionForm(
    'Save options and variants',
    async () => {
      drawGrid();
      clearProblems(form);
      // Options left blank are dropped; half-filled ones go, for the catalog to name.
      const body = { options: readOptions().filter((o) => o.name || o.values.length), variants: [] };
      const options = completeOptions();
      const problems = {};
      const wanted = [];
      grid.querySelectorAll('tbody tr').forEach((row, i) => {
        const value = (name) => row.querySelector(`[name$=".${name}"]`).value.trim();
        const choice = JSON.parse(row.dataset.choice);
        const variant = { sku: value('sku'), options: Object.fromEntries(options.map((o, k) => [o.name, choice[k]])), status: value('status') };
        if (value('price')) {
          variant.price_cents = toMinor(value('price'), product.currency);
          if (!Number.isInteger(variant.price_cents)) problems[`variants.${i}.price_cents`] = 'enter a price, like 12.50, or leave it empty for the product’s';
        }
        variant.material_variant = value('material') || null;
        body.variants.push(variant);
        wanted.push([variant.sku, Number(value('stock'))]);
      });
      if (Object.keys(problems).length) {
        showProblems(form, problems);
        throw new Error('Some fields need another look: see the marked ones.');
      }
      let answer;
      try {
        answer = await api(`/api/catalog/products/${encodeURIComponent(product.sku)}/variants`, { method: 'PUT', body });
      } catch (error) {
        if (error instanceof ApiError && error.details.problems && showProblems(form, error.details.problems)) {
          throw new Error('Nothing was saved: see the marked fields.');
        }
        if (error instanceof ApiError && error.code === 'conflict' && error.details.skus) {
          const taken = {};
          body.variants.forEach((v, i) => {
            if (error.details.skus.includes(v.sku)) taken[`variants.${i}.sku`] = 'another product sells this SKU';
          });
          showProblems(form, taken);
        }
        throw error;
      }
      // Stock for new variants, and for those whose count was changed here: a count left as
      // it was is not sent, so sales made meanwhile are not undone.
      const failed = [];
      for (const [sku, count] of wanted) {
        if (stock[sku] === count) continue;
        try {
          await api(`/api/orders/inventory/${encodeURIComponent(sku)}`, { method: 'PUT', body: { available: count, reason: 'set with the variants' } });
        } catch {
          failed.push(sku);
        }
      }
      const done = `Saved ${answer.variants.length} variant${answer.variants.length === 1 ? '' : 's'}.`;
      // Saving again sets the same variants and retries only the stock that was not set.
      await refresh(answer, failed.length ? alertBox(`${done} The stock of ${failed.join(', ')} was not set: save again to set it.`) : done);
      return done;
    },
    h('p', {}, 'An option is what a shopper chooses, such as Colour or Size. Each combination of their values is a variant, sold under its own SKU and stocked on its own.'),
    optionList,
    addOption,
    said,
    grid,
  );
  drawOptions(product.options.length ? product.options : [{ name: '', values: [] }]);
  drawGrid();
  return h('div', { class: 'variants' }, heading, form);
}
