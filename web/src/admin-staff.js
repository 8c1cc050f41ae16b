// The shop's people: who is staff, and (for the owner) making a customer staff or back.
import { api } from './api.js';
import { h } from './dom.js';
import { actionForm, input } from './admin-forms.js';

const LABELS = { customer: 'Make customer', staff: 'Make staff', owner: 'Make owner' };

function row(person, isOwner, refresh) {
  const buttons = isOwner
    ? Object.keys(LABELS)
        .filter((role) => role !== person.role)
        .map((role) =>
          h(
            'button',
            {
              type: 'button',
              'aria-label': `${LABELS[role]}: ${person.email}`,
              onclick: async () => {
                await api(`/api/accounts/customers/${encodeURIComponent(person.customer_id)}`, { method: 'PATCH', body: { role } });
                await refresh();
              },
            },
            LABELS[role],
          ),
        )
    : [];
  return h('tr', {}, h('td', {}, person.name), h('td', {}, person.email), h('td', {}, person.role), h('td', {}, buttons));
}

function table(people, isOwner, refresh) {
  return h(
    'table',
    { class: 'admin-table' },
    h('thead', {}, h('tr', {}, ['Name', 'Email', 'Role', ''].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, people.map((p) => row(p, isOwner, refresh))),
  );
}

export async function staffPage(who) {
  const isOwner = who.customer.role === 'owner';
  const listed = h('div');
  const found = h('div', { 'aria-live': 'polite' });
  let lastQuery = null;
  async function refresh() {
    const [owners, staff] = await Promise.all([
      api('/api/accounts/customers?role=owner&limit=100'),
      api('/api/accounts/customers?role=staff&limit=100'),
    ]);
    listed.replaceChildren(table([...owners.items, ...staff.items], isOwner, refresh));
    if (lastQuery) found.replaceChildren(table((await api(`/api/accounts/customers?q=${encodeURIComponent(lastQuery)}&limit=20`)).items, isOwner, refresh));
  }
  await refresh();
  return h(
    'section',
    {},
    h('h1', { tabindex: '-1' }, 'Staff'),
    h('p', {}, isOwner ? 'The owner decides who is staff. Staff sign in with their own accounts.' : 'Only the owner changes who is staff.'),
    listed,
    h('h2', {}, 'Find a customer'),
    actionForm(
      'Find',
      async (data) => {
        lastQuery = data.get('q');
        await refresh();
        return '';
      },
      input('Email or name', 'q', { type: 'search', required: true }),
    ),
    found,
  );
}
