// A product sold in variants: one group of radio buttons per option (colour, size, ...), and
// the variant the choices make, which is what the page prices, stocks and puts in the cart.
import { h } from './dom.js';

// The variant whose options are all `picked`, if the product sells that choice.
export const variantOf = (variants, picked) =>
  variants.find((v) => Object.entries(picked).every(([name, value]) => v.options[name] === value));

const buyable = (variant, stock) =>
  variant && variant.status === 'active' && (!stock || (stock[variant.sku] ?? 0) > 0);

// The variant a page opens with: the one its address names, else the first that can be bought.
export function firstChoice(variants, sku, stock) {
  return variants.find((v) => v.sku === sku) || variants.find((v) => buyable(v, stock)) || variants[0];
}

// Each option's values as radio buttons. A value that, with the other choices as they are,
// makes a variant that cannot be bought says so (it can still be chosen, to see it).
export function variantPicker(product, chosen, stock, onChange) {
  const picked = { ...chosen.options };
  const groups = product.options.map((option, i) => {
    const labels = option.values.map((value) => {
      const input = h('input', {
        type: 'radio',
        name: `option-${i}`,
        value,
        checked: picked[option.name] === value,
        onchange: () => {
          picked[option.name] = value;
          mark();
          onChange(variantOf(product.variants, picked));
        },
      });
      const note = h('span', { class: 'visually-hidden' });
      return { option, value, note, el: h('label', { class: 'choice' }, input, h('span', {}, value), note) };
    });
    return { labels, el: h('fieldset', { class: 'option' }, h('legend', {}, option.name), labels.map((l) => l.el)) };
  });
  function mark() {
    for (const { option, value, note, el } of groups.flatMap((g) => g.labels)) {
      const variant = variantOf(product.variants, { ...picked, [option.name]: value });
      const unavailable = !buyable(variant, stock);
      el.classList.toggle('unavailable', unavailable);
      note.textContent = !variant ? '(not sold)' : unavailable ? '(sold out)' : '';
    }
  }
  mark();
  return h('div', { class: 'variants' }, groups.map((g) => g.el));
}

// What a list's card says a product costs: a price, or "From" the lowest of its variants'.
export function priceRange(product) {
  const prices = product.variants.filter((v) => v.status === 'active').map((v) => v.price_cents);
  if (!prices.length) return { cents: product.price_cents, from: false };
  const lowest = Math.min(...prices);
  return { cents: lowest, from: Math.max(...prices) !== lowest };
}

// The SKUs whose stock says whether a product can be bought: its variants', or its own.
export const soldSkus = (product) => (product.variants.length ? product.variants.map((v) => v.sku) : [product.sku]);
