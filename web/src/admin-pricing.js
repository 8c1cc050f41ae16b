// The owner's prices in the back office: shipping methods, tax rates and discount codes (the
// orders service's tables), each listed with a form that adds or changes one. Every change
// answers the whole list, which is shown again.
import { api, money } from './api.js';
import { actionForm, fromMinor, input, problem, toMinor } from './admin-forms.js';
import { alertBox, h } from './dom.js';

const CURRENCY = 'USD';

function removeButton(label, path, show) {
  const said = h('span', { role: 'status' });
  return h(
    'span',
    {},
    h(
      'button',
      {
        type: 'button',
        class: 'link',
        onclick: async () => {
          try {
            show((await api(path, { method: 'DELETE' })).items);
          } catch (error) {
            said.replaceChildren(alertBox(problem(error)));
          }
        },
      },
      label,
    ),
    said,
  );
}

function table(caption, headings, rows) {
  return h(
    'table',
    { class: 'admin-table' },
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, headings.map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: headings.length }, 'None yet.'))),
  );
}

const days = (m) => (m.min_days === m.max_days ? `${m.max_days}` : `${m.min_days}–${m.max_days}`);

function shipping(methods) {
  const holder = h('div');
  const show = (items) =>
    holder.replaceChildren(
      table(
        'Shipping methods (the first that ships to an address is its default)',
        ['Code', 'Name', 'Price', 'Free from', 'Days', 'Ships to', ''],
        items.map((m) =>
          h(
            'tr',
            {},
            h('td', {}, m.code),
            h('td', {}, m.name),
            h('td', { class: 'num' }, money(m.price_cents, m.currency)),
            h('td', { class: 'num' }, m.free_over_cents === null ? '—' : money(m.free_over_cents, m.currency)),
            h('td', {}, days(m)),
            h('td', {}, m.countries ? m.countries.join(', ') : 'Everywhere'),
            h('td', {}, removeButton(`Remove ${m.code}`, `/api/orders/shipping-methods/${encodeURIComponent(m.code)}`, show)),
          ),
        ),
      ),
    );
  show(methods);
  const form = actionForm(
    'Save method',
    async (data) => {
      const countries = String(data.get('countries')).split(/[\s,]+/).filter(Boolean).map((c) => c.toUpperCase());
      const free = String(data.get('free_over')).trim();
      const body = {
        name: data.get('method_name'),
        price_cents: toMinor(data.get('price'), CURRENCY),
        currency: CURRENCY,
        free_over_cents: free ? toMinor(free, CURRENCY) : null,
        min_days: Number(data.get('min_days')),
        max_days: Number(data.get('max_days')),
        countries: countries.length ? countries : null,
        position: Number(data.get('position') || 0),
      };
      show((await api(`/api/orders/shipping-methods/${encodeURIComponent(data.get('method_code'))}`, { method: 'PUT', body })).items);
      return `Saved ${data.get('method_code')}.`;
    },
    input('Code (a-z, 0-9, -)', 'method_code', { required: true, pattern: '[a-z0-9][a-z0-9\\-]{0,31}' }),
    input('Name', 'method_name', { required: true }),
    input(`Price (${CURRENCY})`, 'price', { required: true, inputmode: 'decimal', value: fromMinor(0, CURRENCY) }),
    input('Free from (optional)', 'free_over', { inputmode: 'decimal' }),
    input('Fewest days', 'min_days', { type: 'number', min: 0, max: 365, required: true }),
    input('Most days', 'max_days', { type: 'number', min: 0, max: 365, required: true }),
    input('Ships to (country codes; blank: everywhere)', 'countries'),
    input('Position', 'position', { type: 'number', min: 0, max: 1000, value: 0 }),
  );
  return h('section', {}, h('h2', {}, 'Shipping'), holder, h('h3', {}, 'Add or change a method'), form);
}

const placeOf = (r) => (r.region ? `${r.country}-${r.region}` : r.country);

function taxes(rates) {
  const holder = h('div');
  const show = (items) =>
    holder.replaceChildren(
      table(
        'Tax rates (a region’s own rate wins over its country’s)',
        ['Where', 'Name', 'Rate', 'On shipping', ''],
        items.map((r) =>
          h(
            'tr',
            {},
            h('td', {}, placeOf(r)),
            h('td', {}, r.name),
            h('td', { class: 'num' }, `${r.rate_bp / 100}%`),
            h('td', {}, r.on_shipping ? 'Yes' : 'No'),
            h('td', {}, removeButton(`Remove ${placeOf(r)}`, `/api/orders/tax-rates/${placeOf(r)}`, show)),
          ),
        ),
      ),
    );
  show(rates);
  const form = actionForm(
    'Save rate',
    async (data) => {
      const place = String(data.get('place')).trim().toUpperCase();
      const body = { name: data.get('tax_name'), rate_bp: Math.round(Number(data.get('rate')) * 100), on_shipping: data.get('on_shipping') === 'on' };
      show((await api(`/api/orders/tax-rates/${encodeURIComponent(place)}`, { method: 'PUT', body })).items);
      return `Saved ${place}.`;
    },
    input('Where (GB, or US-CA for a state)', 'place', { required: true }),
    input('Name', 'tax_name', { required: true }),
    input('Rate (%)', 'rate', { required: true, inputmode: 'decimal' }),
    h('p', { class: 'field' }, h('label', {}, h('input', { type: 'checkbox', name: 'on_shipping' }), ' Also on shipping')),
  );
  return h('section', {}, h('h2', {}, 'Tax'), holder, h('h3', {}, 'Add or change a rate'), form);
}

function what(d) {
  if (d.kind === 'percent') return `${d.percent_off}% off`;
  if (d.kind === 'amount') return `${money(d.amount_off_cents, d.currency)} off`;
  return 'Free shipping';
}

function discounts(codes) {
  const holder = h('div');
  const show = (items) =>
    holder.replaceChildren(
      table(
        'Discount codes',
        ['Code', 'What', 'From a subtotal of', 'Ends', 'Used', ''],
        items.map((d) =>
          h(
            'tr',
            {},
            h('td', {}, d.code, d.active ? '' : ' (off)'),
            h('td', {}, what(d)),
            h('td', { class: 'num' }, money(d.min_subtotal_cents, d.currency || CURRENCY)),
            h('td', {}, d.ends_at ? new Date(d.ends_at).toLocaleString() : '—'),
            h('td', { class: 'num' }, d.max_redemptions ? `${d.redemptions} of ${d.max_redemptions}` : String(d.redemptions)),
            h('td', {}, removeButton(`Remove ${d.code}`, `/api/orders/discount-codes/${encodeURIComponent(d.code)}`, show)),
          ),
        ),
      ),
    );
  show(codes);
  const form = actionForm(
    'Save code',
    async (data) => {
      const kind = data.get('kind');
      const amount = String(data.get('amount')).trim();
      const body = { kind, min_subtotal_cents: toMinor(data.get('minimum') || 0, CURRENCY) };
      if (kind === 'percent') body.percent_off = Number(amount);
      if (kind === 'amount') Object.assign(body, { amount_off_cents: toMinor(amount, CURRENCY), currency: CURRENCY });
      if (data.get('ends')) body.ends_at = new Date(`${data.get('ends')}T23:59:59`).toISOString();
      if (data.get('max_uses')) body.max_redemptions = Number(data.get('max_uses'));
      const code = String(data.get('discount_code')).trim().toUpperCase();
      show((await api(`/api/orders/discount-codes/${encodeURIComponent(code)}`, { method: 'PUT', body })).items);
      return `Saved ${code}.`;
    },
    input('Code', 'discount_code', { required: true }),
    h(
      'p',
      { class: 'field' },
      h('label', { for: 'a-kind' }, 'Kind'),
      h(
        'select',
        { id: 'a-kind', name: 'kind' },
        h('option', { value: 'percent' }, 'A percentage off'),
        h('option', { value: 'amount' }, `An amount off (${CURRENCY})`),
        h('option', { value: 'free_shipping' }, 'Free shipping'),
      ),
    ),
    input('Percentage or amount (not for free shipping)', 'amount', { inputmode: 'decimal' }),
    input(`From a subtotal of (${CURRENCY}, optional)`, 'minimum', { inputmode: 'decimal' }),
    input('Last day (optional)', 'ends', { type: 'date' }),
    input('Most uses (optional)', 'max_uses', { type: 'number', min: 1 }),
  );
  return h('section', {}, h('h2', {}, 'Discount codes'), holder, h('h3', {}, 'Add or change a code'), form);
}

export async function pricingPage() {
  const [methods, rates, codes] = await Promise.all([
    api('/api/orders/shipping-methods', { fresh: true }),
    api('/api/orders/tax-rates', { fresh: true }),
    api('/api/orders/discount-codes', { fresh: true }),
  ]);
  return h(
    'section',
    { class: 'pricing' },
    h('h1', { tabindex: '-1' }, 'Shipping, tax and codes'),
    h('p', {}, 'Checkout prices every order from these; shoppers see them in the order summary.'),
    shipping(methods.items),
    taxes(rates.items),
    discounts(codes.items),
  );
}
