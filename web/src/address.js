// Fields with a place for what the server says is wrong with each (`details.problems`), and a
// postal address's fields as each country needs them: the countries the shop ships to (the
// orders service's list) and, where a country's addresses name one, a choice of its regions.
import { api } from './api.js';
import { h } from './dom.js';

const REGION_LABELS = { US: 'State', CA: 'Province or territory', AU: 'State or territory', JP: 'Prefecture' };

// A labelled control with a place for what the server says is wrong with it.
export function labelled(label, name, control) {
  return h(
    'p',
    { class: 'field', 'data-field': name },
    h('label', { for: control.id }, label),
    control,
    h('span', { class: 'field-error', id: `${control.id}-error`, hidden: true }),
  );
}

export const asSentence = (text) => `${text.charAt(0).toUpperCase()}${text.slice(1)}.`;

export function clearProblems(form) {
  for (const slot of form.querySelectorAll('.field-error')) {
    slot.hidden = true;
    slot.textContent = '';
  }
  for (const control of form.querySelectorAll('[aria-invalid]')) {
    control.removeAttribute('aria-invalid');
    control.removeAttribute('aria-describedby');
  }
}

// Each problem shown in the slot of its field (`data-field`: the request's field name, or
// `fieldOf`'s name for it), the first such control focused; true when every problem found
// its field.
export function showProblems(form, problems, fieldOf = (field) => field) {
  let first = null;
  let all = true;
  for (const [field, problem] of Object.entries(problems)) {
    const name = fieldOf(field);
    const box = name && form.querySelector(`[data-field="${name}"]`);
    if (!box) {
      all = false;
      continue;
    }
    const slot = box.querySelector('.field-error');
    const control = box.querySelector('input, select') || box;
    slot.textContent = asSentence(problem);
    slot.hidden = false;
    control.setAttribute('aria-invalid', 'true');
    control.setAttribute('aria-describedby', slot.id);
    if (control !== box) first = first || control;
  }
  if (first) first.focus();
  return all;
}

export function textField(label, name, attrs = {}) {
  return labelled(label, name, h('input', { id: `f-${name}`, name, required: true, ...attrs }));
}

let countries = null;

// The countries the shop ships to, by code (asked once per page load).
export function shippingCountries() {
  countries = countries || api('/api/orders/countries').then((data) => new Map(data.items.map((c) => [c.code, c])));
  return countries;
}

function regionField(country, chosen) {
  if (!country || !country.regions) return null;
  const select = h(
    'select',
    { id: 'f-region', name: 'region', required: true, autocomplete: 'shipping address-level1' },
    h('option', { value: '' }, 'Choose…'),
    country.regions.map((r) => h('option', { value: r.code, selected: r.code === chosen }, r.name)),
  );
  return labelled(REGION_LABELS[country.code] || 'State or province', 'region', select);
}

// The fields of an address, filled from `saved`; `onPlace` hears each change of country or
// region (what shipping and tax depend on). `read(formData)` is the address as the API takes it.
export function addressFields(places, saved, { name = ['Full name', 'name'], onPlace = () => {} } = {}) {
  const place = {
    country: places.has(saved.country) ? saved.country : places.has('US') ? 'US' : places.keys().next().value,
    region: saved.region || '',
  };
  const regionSlot = h('div', { class: 'region-slot' }, regionField(places.get(place.country), place.region));
  regionSlot.addEventListener('change', (event) => {
    place.region = event.target.value;
    onPlace(place);
  });
  const country = h(
    'select',
    {
      id: 'f-country',
      name: 'country',
      autocomplete: 'shipping country',
      onchange: (event) => {
        place.country = event.target.value;
        place.region = '';
        regionSlot.replaceChildren(regionField(places.get(place.country), '') || '');
        onPlace(place);
      },
    },
    [...places.values()].map((c) => h('option', { value: c.code, selected: c.code === place.country }, c.name)),
  );
  const [nameLabel, nameKey] = name;
  const fields = [
    textField(nameLabel, nameKey, { autocomplete: 'shipping name', value: saved.name }),
    labelled('Country', 'country', country),
    textField('Address', 'line1', { autocomplete: 'shipping address-line1', value: saved.line1 }),
    textField('Apartment, suite, etc. (optional)', 'line2', { autocomplete: 'shipping address-line2', required: false, value: saved.line2 }),
    textField('City', 'city', { autocomplete: 'shipping address-level2', value: saved.city }),
    regionSlot,
    textField('Postal code', 'postal_code', { autocomplete: 'shipping postal-code', value: saved.postal_code }),
  ];
  const read = (data) => {
    const address = {
      name: data.get(nameKey),
      line1: data.get('line1'),
      city: data.get('city'),
      postal_code: data.get('postal_code'),
      country: place.country,
    };
    if (data.get('line2')) address.line2 = data.get('line2');
    if (place.region) address.region = place.region;
    return address;
  };
  return { fields, place, read };
}
