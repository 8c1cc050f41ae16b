// The customer's pages: signing up and in, the account (profile, default address, password,
// signing out) and the order history.
import { api, ApiError, explain, money } from './api.js';
import { addressFields, shippingCountries } from './address.js';
import { alertBox, h, link } from './dom.js';
import { changePassword, session, signIn, signOut, signUp, updateProfile } from './session.js';

function field(label, name, attrs = {}) {
  const id = `f-${name}`;
  return h('p', { class: 'field' }, h('label', { for: id }, label), h('input', { id, name, required: true, ...attrs }));
}

// Only a path of this site: a `next` of another origin would send a shopper elsewhere.
function nextPath(params) {
  const next = params.get('next') || '/account';
  return next.startsWith('/') && !next.startsWith('//') ? next : '/account';
}

function failure(error, fallback) {
  if (error instanceof ApiError && error.status === 401) return fallback;
  if (error instanceof ApiError && error.code === 'invalid_request') return error.message;
  if (error instanceof ApiError && error.status === 409) return 'An account with this email exists already. Sign in instead.';
  return explain(error);
}

function form(onsubmit, ...children) {
  const message = h('div', { 'aria-live': 'assertive' });
  const el = h(
    'form',
    {
      onsubmit: async (event) => {
        event.preventDefault();
        const button = el.querySelector('button[type=submit]');
        button.disabled = true;
        message.replaceChildren();
        try {
          await onsubmit(new FormData(el), message);
        } catch (error) {
          message.replaceChildren(alertBox(error.message));
        } finally {
          button.disabled = false;
        }
      },
    },
    ...children,
  );
  return [el, message];
}

export async function signInPage(navigate, params) {
  const [el, message] = form(
    async (data) => {
      try {
        await signIn(data.get('email'), data.get('password'));
      } catch (error) {
        throw new Error(failure(error, 'The email or the password is wrong.'));
      }
      navigate(nextPath(params));
    },
    field('Email', 'email', { type: 'email', autocomplete: 'email' }),
    field('Password', 'password', { type: 'password', autocomplete: 'current-password' }),
    h('button', { type: 'submit', class: 'primary' }, 'Sign in'),
  );
  return h(
    'section',
    { class: 'account' },
    h('h1', { tabindex: '-1' }, 'Sign in'),
    el,
    message,
    h('p', {}, 'New here? ', link(`/sign-up?next=${encodeURIComponent(nextPath(params))}`, 'Create an account')),
  );
}

export async function signUpPage(navigate, params) {
  const [el, message] = form(
    async (data) => {
      try {
        await signUp(data.get('name'), data.get('email'), data.get('password'));
      } catch (error) {
        throw new Error(failure(error, explain(error)));
      }
      navigate(nextPath(params));
    },
    field('Name', 'name', { autocomplete: 'name' }),
    field('Email', 'email', { type: 'email', autocomplete: 'email' }),
    field('Password', 'password', {
      type: 'password',
      autocomplete: 'new-password',
      minlength: 10,
      'aria-describedby': 'password-hint',
    }),
    h('p', { id: 'password-hint', class: 'hint' }, 'At least 10 characters; not a common password.'),
    h('button', { type: 'submit', class: 'primary' }, 'Create account'),
  );
  return h(
    'section',
    { class: 'account' },
    h('h1', { tabindex: '-1' }, 'Create an account'),
    el,
    message,
    h('p', {}, 'Have an account? ', link(`/sign-in?next=${encodeURIComponent(nextPath(params))}`, 'Sign in')),
  );
}

function signInFirst(navigate, path) {
  navigate(`/sign-in?next=${encodeURIComponent(path)}`);
  return h('section', {}, h('h1', { tabindex: '-1' }, 'Sign in'));
}

export async function accountPage(navigate) {
  const now = await session();
  if (!now) return signInFirst(navigate, '/account');
  const { customer } = now;
  const saved = customer.default_shipping_address || {};
  const address = addressFields(await shippingCountries(), { ...saved, name: saved.name || customer.name }, { name: ['Ship to', 'ship_name'] });
  const [profile, profileMessage] = form(
    async (data) => {
      try {
        await updateProfile({
          name: data.get('name'),
          default_shipping_address: address.read(data),
        });
      } catch (error) {
        throw new Error(failure(error, explain(error)));
      }
      profileMessage.replaceChildren(h('p', { role: 'status' }, 'Saved.'));
    },
    field('Your name', 'name', { autocomplete: 'name', value: customer.name }),
    h('h3', {}, 'Default shipping address'),
    address.fields,
    h('button', { type: 'submit', class: 'primary' }, 'Save'),
  );
  const [password, passwordMessage] = form(
    async (data, message) => {
      try {
        await changePassword(data.get('current_password'), data.get('new_password'));
      } catch (error) {
        throw new Error(failure(error, explain(error)));
      }
      password.reset();
      message.replaceChildren(h('p', { role: 'status' }, 'Password changed. Your other sessions have ended.'));
    },
    field('Current password', 'current_password', { type: 'password', autocomplete: 'current-password' }),
    field('New password', 'new_password', { type: 'password', autocomplete: 'new-password', minlength: 10 }),
    h('button', { type: 'submit' }, 'Change password'),
  );
  const out = async (everywhere) => {
    await signOut({ everywhere });
    navigate('/');
  };
  return h(
    'section',
    { class: 'account' },
    h('h1', { tabindex: '-1' }, 'Your account'),
    h('p', {}, `Signed in as ${customer.email}. `, link('/account/orders', 'Your orders')),
    h('h2', {}, 'Profile'),
    profile,
    profileMessage,
    h('h2', {}, 'Password'),
    password,
    passwordMessage,
    h('h2', {}, 'Sign out'),
    h(
      'p',
      {},
      h('button', { type: 'button', onclick: () => out(false) }, 'Sign out'),
      ' ',
      h('button', { type: 'button', onclick: () => out(true) }, 'Sign out everywhere'),
    ),
  );
}

function orderRow(order) {
  const when = new Date(order.created_at).toLocaleDateString();
  return h(
    'li',
    {},
    link(`/order/${encodeURIComponent(order.order_id)}`, order.order_id),
    ` · ${when} · ${money(order.total_cents, order.currency)} · ${order.status.replace('_', ' ')}`,
  );
}

export async function ordersPage(navigate) {
  const now = await session();
  if (!now) return signInFirst(navigate, '/account/orders');
  const list = h('ol', { class: 'orders' });
  const root = h('section', { class: 'account' }, h('h1', { tabindex: '-1' }, 'Your orders'), list);
  const more = h('button', { type: 'button' }, 'More orders');
  let cursor = null;
  const load = async () => {
    const params = new URLSearchParams({ mine: '1', limit: '10', ...(cursor ? { cursor } : {}) });
    const page = await api(`/api/orders/orders?${params}`);
    list.append(...page.items.map(orderRow));
    cursor = page.next_cursor;
    if (!cursor) more.remove();
  };
  more.addEventListener('click', () => load().catch((error) => root.append(alertBox(explain(error)))));
  await load();
  if (!list.children.length) root.append(h('p', {}, 'No orders yet. ', link('/', 'Browse products')));
  if (cursor) root.append(more);
  return root;
}
