// The back office's orders: find them, read one with its history, ship, cancel, refund.
import { api, money } from './api.js';
import { alertBox, h, link } from './dom.js';
import { actionForm, fromMinor, input, problem, toMinor } from './admin-forms.js';

const STATUSES = ['paid', 'fulfilled', 'refunded', 'cancelled', 'payment_failed', 'pending'];
const FILTERS = ['status', 'q', 'created_from', 'created_to'];

function when(rfc3339) {
  return new Date(rfc3339).toLocaleString();
}

function filterForm(params, navigate) {
  const value = (name) => params.get(name) || '';
  return h(
    'form',
    {
      class: 'admin-filters',
      'aria-label': 'Find orders',
      onsubmit: (event) => {
        event.preventDefault();
        const query = new URLSearchParams();
        for (const [name, v] of new FormData(event.target)) if (v) query.set(name, v);
        navigate(`/admin/orders${query.size ? `?${query}` : ''}`);
      },
    },
    input('Order id, email or name', 'q', { type: 'search', value: value('q') }),
    h(
      'p',
      { class: 'field' },
      h('label', { for: 'a-status' }, 'Status'),
      h(
        'select',
        { id: 'a-status', name: 'status' },
        h('option', { value: '' }, 'Any'),
        STATUSES.map((s) => h('option', { value: s, selected: s === value('status') }, s.replace('_', ' '))),
      ),
    ),
    input('Placed from', 'created_from', { type: 'date', value: value('created_from') }),
    input('Placed to', 'created_to', { type: 'date', value: value('created_to') }),
    h('button', { type: 'submit' }, 'Find'),
  );
}

function orderRow(order) {
  return h(
    'tr',
    {},
    h('td', {}, link(`/admin/orders/${encodeURIComponent(order.order_id)}`, order.order_id)),
    h('td', {}, when(order.created_at)),
    h('td', {}, order.shipping_address.name, h('br'), h('small', {}, order.email)),
    h('td', {}, h('span', { class: `state ${order.status}` }, order.status.replace('_', ' '))),
    h('td', { class: 'num' }, money(order.total_cents, order.currency)),
  );
}

export async function ordersPage(url, navigate) {
  const params = new URLSearchParams();
  for (const name of FILTERS) if (url.searchParams.get(name)) params.set(name, url.searchParams.get(name));
  const body = h('tbody');
  const more = h('button', { type: 'button', hidden: true }, 'More orders');
  const message = h('div', { 'aria-live': 'polite' });
  let cursor = null;
  async function load() {
    const query = new URLSearchParams(params);
    query.set('limit', '50');
    if (cursor) query.set('cursor', cursor);
    try {
      const page = await api(`/api/orders/orders?${query}`);
      body.append(...page.items.map(orderRow));
      cursor = page.next_cursor;
      more.hidden = !cursor;
      if (!body.children.length) message.replaceChildren(h('p', {}, 'No orders match.'));
    } catch (error) {
      message.replaceChildren(alertBox(problem(error)));
    }
  }
  more.addEventListener('click', load);
  await load();
  return h(
    'section',
    {},
    h('h1', { tabindex: '-1' }, 'Orders'),
    filterForm(url.searchParams, navigate),
    h('p', {}, h('a', { href: `/api/orders/orders.csv?${params}`, download: true }, 'Export these orders (CSV)')),
    h(
      'table',
      { class: 'admin-table' },
      h('thead', {}, h('tr', {}, ['Order', 'Placed', 'Customer', 'Status', 'Total'].map((t) => h('th', { scope: 'col' }, t)))),
      body,
    ),
    message,
    more,
  );
}

function address(a) {
  return h(
    'address',
    {},
    [a.name, a.line1, a.line2, `${a.postal_code} ${a.city}`, a.region, a.country].filter(Boolean).flatMap((l) => [l, h('br')]),
  );
}

function actions(order, show) {
  const id = encodeURIComponent(order.order_id);
  const forms = [];
  if (order.status === 'paid') {
    forms.push(
      h('h3', {}, 'Ship'),
      actionForm(
        'Mark shipped',
        async (data) => {
          show(await api(`/api/orders/orders/${id}/fulfilment`, {
            method: 'POST',
            body: { carrier: data.get('carrier'), tracking_number: data.get('tracking_number') },
          }));
          return 'Shipped; the customer was emailed.';
        },
        input('Carrier', 'carrier', { required: true, maxlength: 64 }),
        input('Tracking number', 'tracking_number', { required: true, maxlength: 128 }),
      ),
      h('h3', {}, 'Cancel'),
      actionForm(
        'Cancel the order',
        async (data) => {
          const reason = data.get('reason');
          show(await api(`/api/orders/orders/${id}/cancellation`, { method: 'POST', body: reason ? { reason } : {} }));
          return 'Cancelled: stock is back and the payment refunded.';
        },
        input('Reason (optional)', 'reason', { maxlength: 200 }),
        h('p', { class: 'field check' }, h('input', { id: 'a-sure', type: 'checkbox', required: true }), h('label', { for: 'a-sure' }, 'Yes, cancel and refund this order')),
      ),
    );
  }
  if (order.status === 'paid' || order.status === 'fulfilled') {
    const left = order.total_cents - order.refunded_cents;
    // One key per form: a double click, or a retry after a lost answer, refunds once.
    const key = crypto.randomUUID();
    forms.push(
      h('h3', {}, 'Refund'),
      actionForm(
        'Refund',
        async (data) => {
          const amount = data.get('amount');
          const body = {};
          if (amount) {
            body.amount_cents = toMinor(amount, order.currency);
            if (!(body.amount_cents > 0)) throw new Error('Give an amount above zero, or leave it empty to refund all that is left.');
          }
          show(await api(`/api/orders/orders/${id}/refunds`, { method: 'POST', body, headers: { 'Idempotency-Key': key } }));
          return 'Refunded.';
        },
        input(`Amount (${order.currency}; empty: all that is left, ${fromMinor(left, order.currency)})`, 'amount', {
          inputmode: 'decimal',
          pattern: '[0-9]+([.][0-9]{1,3})?',
        }),
      ),
    );
  }
  return forms;
}

function detail(order, show) {
  const lines = order.items.map((item) =>
    h(
      'tr',
      {},
      h('td', {}, item.sku),
      h('td', {}, item.name),
      h('td', { class: 'num' }, item.quantity),
      h('td', { class: 'num' }, money(item.unit_price_cents, order.currency)),
    ),
  );
  const fulfilment = order.fulfilment;
  return h(
    'section',
    { class: 'order-detail' },
    h('h1', { tabindex: '-1' }, `Order ${order.order_id}`),
    h('p', {}, h('span', { class: `state ${order.status}` }, order.status.replace('_', ' ')), ` placed ${when(order.created_at)} by ${order.email}`),
    h(
      'table',
      { class: 'admin-table' },
      h('thead', {}, h('tr', {}, ['SKU', 'Product', 'Qty', 'Price'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, lines),
    ),
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'Subtotal'),
      h('dd', {}, money(order.subtotal_cents, order.currency)),
      h('dt', {}, 'Shipping'),
      h('dd', {}, money(order.shipping_cents, order.currency), order.shipping_method ? ` (${order.shipping_method.name})` : ''),
      order.discount_cents ? [h('dt', {}, 'Discount'), h('dd', {}, `-${money(order.discount_cents, order.currency)} (${order.discount_code})`)] : null,
      h('dt', {}, 'Tax'),
      h('dd', {}, money(order.tax_cents, order.currency)),
      h('dt', {}, 'Total'),
      h('dd', {}, money(order.total_cents, order.currency)),
      h('dt', {}, 'Refunded'),
      h('dd', {}, money(order.refunded_cents, order.currency)),
      h('dt', {}, 'Payment'),
      h('dd', {}, order.payment_reference || '—'),
      h('dt', {}, 'Shipment'),
      h('dd', {}, fulfilment ? `${fulfilment.carrier} ${fulfilment.tracking_number} (${when(fulfilment.fulfilled_at)})` : 'Not shipped'),
      h('dt', {}, 'Ships to'),
      h('dd', {}, address(order.shipping_address)),
    ),
    actions(order, show),
    h('h2', {}, 'Refunds'),
    order.refunds.length
      ? h('ul', {}, order.refunds.map((r) => h('li', {}, `${money(r.amount_cents, order.currency)} — ${r.state} — by ${r.actor}, ${when(r.created_at)}`)))
      : h('p', {}, 'None.'),
    h('h2', {}, 'History'),
    h('ol', { class: 'history' }, order.history.map((e) => h('li', {}, `${when(e.at)}: ${e.kind.replace('_', ' ')} by ${e.actor}`))),
    link('/admin/orders', 'All orders'),
  );
}

export async function orderPage(orderId, navigate) {
  const holder = h('div');
  const show = (order) => {
    holder.replaceChildren(detail(order, show));
    holder.querySelector('h1').focus();
  };
  holder.append(detail(await api(`/api/orders/orders/${encodeURIComponent(orderId)}`), show));
  return holder;
}
