// The checkout: the shopper's address and choices beside an order summary that the orders
// service prices (POST /api/orders/quotes), so what the page shows is what the order costs;
// and the confirmation of a placed order.
import { ApiError, api, explain, money } from './api.js';
import { currentCart } from './cart.js';
import { addressFields, asSentence, clearProblems, labelled, shippingCountries, showProblems, textField } from './address.js';
import { alertBox, h, link } from './dom.js';
import { session } from './session.js';

// The form's field for each request field the server names in an error's `details`.
const FIELD_OF = {
  email: 'email',
  'shipping_address.name': 'name',
  'shipping_address.line1': 'line1',
  'shipping_address.line2': 'line2',
  'shipping_address.city': 'city',
  'shipping_address.region': 'region',
  'shipping_address.postal_code': 'postal_code',
  'shipping_address.country': 'country',
  country: 'country',
  region: 'region',
  shipping_method: 'shipping_method',
  discount_code: 'discount_code',
  'payment.token': 'card',
};
const fieldOf = (field) => FIELD_OF[field];

function summaryLines(quote) {
  return h(
    'ul',
    { class: 'summary-lines' },
    quote.items.map((line) =>
      h(
        'li',
        {},
        h('span', {}, `${line.name} × ${line.quantity}`),
        h('span', {}, money(line.unit_price_cents * line.quantity, quote.currency)),
      ),
    ),
  );
}

// Subtotal, shipping, discount, tax and total, as an order (or a quote) states them.
export function totals(priced, shippingName) {
  const row = (label, cents, cls = null) =>
    h('div', { class: cls }, h('dt', {}, label), h('dd', {}, money(cents, priced.currency)));
  return h(
    'dl',
    { class: 'totals' },
    row('Subtotal', priced.subtotal_cents),
    row(shippingName ? `Shipping (${shippingName})` : 'Shipping', priced.shipping_cents),
    priced.discount_cents ? row(`Discount${priced.discount_code ? ` (${priced.discount_code})` : ''}`, -priced.discount_cents) : null,
    row(priced.tax && priced.tax.name ? `Tax (${priced.tax.name})` : 'Tax', priced.tax_cents),
    row('Total', priced.total_cents, 'grand'),
  );
}

function days(method) {
  if (method.min_days === method.max_days) return `${method.max_days} days`;
  return `${method.min_days}–${method.max_days} days`;
}

export async function checkout(navigate) {
  // Accounts being away only leaves the form empty: a guest checkout needs no account.
  const [cart, signed, places] = await Promise.all([currentCart(), session().catch(() => null), shippingCountries()]);
  // A signed-in customer's email and default address fill the form; they may change them.
  const customer = signed ? signed.customer : null;
  const saved = (customer && customer.default_shipping_address) || {};
  const root = h('section', { class: 'checkout' }, h('h1', { tabindex: '-1' }, 'Checkout'));
  if (!cart || !cart.items.length) {
    root.append(h('p', {}, 'Your cart is empty. '), link('/', 'Browse products'));
    return root;
  }
  // What the price depends on: where it goes (the address's own `place`), how, and a code.
  const choice = { method: null, code: null };
  const address = addressFields(places, { ...saved, name: saved.name || (customer && customer.name) }, { onPlace: () => requote() });
  const message = h('div', { 'aria-live': 'assertive' });
  const summary = h('div', { class: 'summary-body', 'aria-live': 'polite' }, h('p', { role: 'status' }, 'Working out your total…'));
  const methods = h('fieldset', { class: 'methods', 'data-field': 'shipping_method' }, h('legend', {}, 'Delivery'));
  const codeInput = h('input', { id: 'f-discount_code', name: 'discount_code', autocomplete: 'off', value: '' });
  const codeNote = h('p', { class: 'ok', role: 'status' });
  const place = h('button', { type: 'submit', class: 'primary' }, 'Place order');
  // One key per attempt: a double click or a retry after a network error cannot place a
  // second order; a new one once the server has refused the attempt.
  let key = crypto.randomUUID();
  let quote = null;

  const form = h('form', { class: 'checkout-form' });

  const showMethods = () => {
    methods.replaceChildren(
      h('legend', {}, 'Delivery'),
      ...quote.shipping_methods.map((m) =>
        h(
          'label',
          { class: 'method' },
          h('input', {
            type: 'radio',
            name: 'shipping_method',
            value: m.code,
            checked: m.code === quote.shipping_method,
            onchange: () => {
              choice.method = m.code;
              requote();
            },
          }),
          ` ${m.name} · ${days(m)} · `,
          h('strong', {}, m.price_cents ? money(m.price_cents, quote.currency) : 'Free'),
        ),
      ),
      h('span', { class: 'field-error', id: 'f-shipping_method-error', hidden: true }),
    );
  };

  let asked = 0;
  const requote = async () => {
    const mine = ++asked;
    const { country, region } = address.place;
    const body = { cart_id: cart.cart_id, country };
    if (region) body.region = region;
    if (choice.method) body.shipping_method = choice.method;
    if (choice.code) body.discount_code = choice.code;
    try {
      const priced = await api('/api/orders/quotes', { method: 'POST', body });
      if (mine !== asked) return; // an answer to an earlier choice
      quote = priced;
      choice.method = quote.shipping_method;
      showMethods();
      summary.replaceChildren(summaryLines(quote), totals(quote, quote.shipping_methods.find((m) => m.code === quote.shipping_method)?.name));
      place.disabled = false;
    } catch (error) {
      if (mine !== asked) return;
      const problems = (error instanceof ApiError && error.details.problems) || null;
      if (problems && problems.discount_code && choice.code) {
        // The code cannot be used: say why at its field, and price the order without it.
        choice.code = null;
        codeNote.textContent = '';
        showProblems(form, { discount_code: problems.discount_code }, fieldOf);
        return requote();
      }
      if (problems && problems.shipping_method && choice.method) {
        choice.method = null; // not offered where the order now goes: the default instead
        return requote();
      }
      if (problems) showProblems(form, problems, fieldOf);
      const named = error instanceof ApiError && error.details.skus;
      summary.replaceChildren(alertBox(named ? h('span', {}, `${asSentence(error.message)} `, link('/cart', 'Review your cart')) : explain(error)));
      place.disabled = true;
    }
  };

  const applyCode = () => {
    clearProblems(form);
    const typed = codeInput.value.trim();
    choice.code = typed || null;
    codeNote.textContent = typed ? `Code ${typed.toUpperCase()} applied.` : '';
    requote();
  };
  codeInput.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') {
      event.preventDefault();
      applyCode();
    }
  });

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearProblems(form);
    const data = new FormData(form);
    const body = { cart_id: cart.cart_id, email: data.get('email'), shipping_address: address.read(data), payment: { token: data.get('card') } };
    if (choice.method) body.shipping_method = choice.method;
    if (choice.code) body.discount_code = choice.code;
    place.disabled = true;
    message.replaceChildren(h('p', { role: 'status' }, 'Placing your order…'));
    try {
      const order = await api('/api/orders/orders', {
        method: 'POST',
        headers: { 'Idempotency-Key': `${cart.cart_id}-${key}-${data.get('card')}` },
        body,
      });
      document.dispatchEvent(new CustomEvent('cart-changed', { detail: null }));
      navigate(`/order/${encodeURIComponent(order.order_id)}`);
    } catch (error) {
      if (error instanceof ApiError && error.status >= 400 && error.status < 500) key = crypto.randomUUID();
      const problems = error instanceof ApiError && error.details.problems;
      if (problems && showProblems(form, problems, fieldOf)) {
        message.replaceChildren(alertBox('Some details need another look: see the marked fields.'));
      } else if (error instanceof ApiError && error.details.skus) {
        // Products that ran out or left the shop are named in the server's words.
        message.replaceChildren(alertBox(h('span', {}, `${asSentence(error.message)} `, link('/cart', 'Review your cart'))));
      } else {
        message.replaceChildren(alertBox(explain(error)));
      }
      place.disabled = false;
    }
  });

  form.append(
    customer ? null : h('p', {}, 'Have an account? ', link('/sign-in?next=/checkout', 'Sign in'), ' to use your saved address.'),
    h(
      'fieldset',
      {},
      h('legend', {}, 'Contact'),
      textField('Email', 'email', { type: 'email', autocomplete: 'email', value: customer ? customer.email : null }),
    ),
    h(
      'fieldset',
      {},
      h('legend', {}, 'Shipping address'),
      address.fields,
    ),
    methods,
    h(
      'div',
      { class: 'field discount', 'data-field': 'discount_code' },
      h('label', { for: 'f-discount_code' }, 'Discount code'),
      h('span', { class: 'inline' }, codeInput, h('button', { type: 'button', onclick: applyCode }, 'Apply')),
      h('span', { class: 'field-error', id: 'f-discount_code-error', hidden: true }),
      codeNote,
    ),
    labelled(
      'Test card',
      'card',
      h(
        'select',
        { id: 'f-card', name: 'card' },
        h('option', { value: 'tok_visa' }, 'Visa test card (succeeds)'),
        h('option', { value: 'tok_chargeDeclined' }, 'Declined test card'),
      ),
    ),
    place,
    message,
  );
  root.append(
    h(
      'div',
      { class: 'checkout-grid' },
      form,
      h('aside', { class: 'summary', 'aria-labelledby': 'summary-title' }, h('h2', { id: 'summary-title' }, 'Order summary'), summary),
    ),
  );
  place.disabled = true;
  requote();
  return root;
}

function addressBlock(address) {
  const countryLine = [address.city, address.region, address.postal_code].filter(Boolean).join(' ');
  return h(
    'address',
    { class: 'ship-to' },
    [address.name, address.line1, address.line2, countryLine, address.country].filter(Boolean).map((line) => h('span', {}, line)),
  );
}

// How often, and how many times, the page asks whether the confirmation email went: the
// orders service's mail sender sends it a moment after the order is placed.
const EMAIL_CHECK_MS = 1000;
const EMAIL_CHECKS = 15;

function emailLine(order) {
  // Only an email that was sent is promised.
  return order.confirmation_sent_at
    ? `We sent a confirmation to ${order.email}.`
    : 'Keep your order number: it is how you find this order again.';
}

async function watchConfirmationEmail(order, line) {
  for (let check = 0; check < EMAIL_CHECKS && !order.confirmation_sent_at; check += 1) {
    await new Promise((resolve) => setTimeout(resolve, EMAIL_CHECK_MS));
    if (!line.isConnected) return; // the shopper has moved on
    try {
      order = await api(`/api/orders/orders/${encodeURIComponent(order.order_id)}`);
    } catch {
      return; // the line keeps its safe wording
    }
    line.textContent = emailLine(order);
  }
}

export async function confirmation(orderId) {
  const order = await api(`/api/orders/orders/${encodeURIComponent(orderId)}`);
  const line = h('p', { class: 'order-email', 'aria-live': 'polite' }, emailLine(order));
  if (order.status === 'paid') watchConfirmationEmail(order, line);
  return h(
    'section',
    { class: 'confirmation' },
    h('h1', { tabindex: '-1' }, 'Thank you for your order'),
    h('p', {}, 'Order number: ', h('strong', { class: 'order-id' }, order.order_id)),
    line,
    h(
      'table',
      { class: 'order-lines' },
      h('caption', {}, 'What you ordered'),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Product'), h('th', { scope: 'col' }, 'Quantity'), h('th', { scope: 'col' }, 'Price'))),
      h(
        'tbody',
        {},
        order.items.map((line) =>
          h('tr', {}, h('td', {}, line.name || line.sku), h('td', {}, String(line.quantity)), h('td', {}, money(line.unit_price_cents * line.quantity, order.currency))),
        ),
      ),
    ),
    h(
      'div',
      { class: 'confirmation-grid' },
      h('div', {}, h('h2', {}, 'Shipping to'), addressBlock(order.shipping_address)),
      h(
        'div',
        { class: 'order-total' },
        h('h2', {}, 'Totals'),
        totals(order, order.shipping_method ? order.shipping_method.name : null),
      ),
    ),
    link('/', 'Keep shopping'),
  );
}
