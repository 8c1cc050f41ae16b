// The storefront: a small single-page app over the public API.
import './styles.css';
import { explain } from './api.js';
import { currentCart, itemCount } from './cart.js';
import { alertBox, h, link } from './dom.js';
import { accountPage, ordersPage, signInPage, signUpPage } from './account.js';
import { session } from './session.js';
import { checkout, confirmation } from './checkout.js';
import { cartPage, home, notFound, product } from './views.js';

const main = document.getElementById('main');
const count = document.getElementById('cart-count');

function route(url) {
  const path = url.pathname;
  let match;
  if (path === '/') return { title: 'Shop', view: () => home(url.searchParams) };
  if ((match = path.match(/^\/product\/([^/]+)$/)))
    return { title: 'Product', view: () => product(decodeURIComponent(match[1])) };
  if (path === '/cart') return { title: 'Cart', view: () => cartPage(navigate) };
  if (path === '/checkout') return { title: 'Checkout', view: () => checkout(navigate) };
  if ((match = path.match(/^\/order\/([^/]+)$/)))
    return { title: 'Order placed', view: () => confirmation(decodeURIComponent(match[1])) };
  if (path === '/sign-in') return { title: 'Sign in', view: () => signInPage(navigate, url.searchParams) };
  if (path === '/sign-up') return { title: 'Create an account', view: () => signUpPage(navigate, url.searchParams) };
  if (path === '/account') return { title: 'Your account', view: () => accountPage(navigate) };
  if (path === '/account/orders') return { title: 'Your orders', view: () => ordersPage(navigate) };
  if ((match = path.match(/^\/api-docs(?:\/([a-z]+))?$/)))
    return { title: 'API', view: () => import('./apidocs.js').then((docs) => docs.apiDocsPage(match[1])) };
  if (path === '/admin' || path.startsWith('/admin/'))
    return { title: 'Back office', view: () => import('./admin.js').then((admin) => admin.adminPage(url, navigate)) };
  return { title: 'Not found', view: async () => notFound() };
}

let latest = 0;
// A thin bar at the top while a page loads (shown only when it takes a moment).
const loading = h('div', { class: 'loading-bar', role: 'progressbar', 'aria-label': 'Loading the page', hidden: true });
document.body.prepend(loading);
const LOADING_DELAY_MS = 150;

async function render() {
  // Pages load asynchronously: only the newest navigation may replace the page, or a slow
  // earlier one would land on top of it.
  const ticket = ++latest;
  const url = new URL(window.location.href);
  const { title, view } = route(url);
  main.setAttribute('aria-busy', 'true');
  const slow = setTimeout(() => {
    if (ticket === latest) loading.hidden = false;
  }, LOADING_DELAY_MS);
  let page;
  try {
    page = await view();
  } catch (error) {
    page = h('section', {}, h('h1', { tabindex: '-1' }, 'Something went wrong'), alertBox(explain(error)), link('/', 'Back to the shop'));
  }
  if (ticket !== latest) return;
  clearTimeout(slow);
  loading.hidden = true;
  main.replaceChildren(page);
  main.removeAttribute('aria-busy');
  const heading = main.querySelector('h1');
  document.title = `${heading ? heading.textContent : title} · Pet Shore 3D`;
  // Move focus to the new page's heading so screen readers announce it.
  if (heading && render.navigated) heading.focus();
}

export function navigate(path) {
  window.history.pushState({}, '', path);
  render.navigated = true;
  render();
}

function showCount(cart) {
  const n = itemCount(cart);
  count.textContent = n ? `${n}` : '';
  document.getElementById('cart-link').setAttribute('aria-label', n ? `Cart, ${n} items` : 'Cart');
}

document.addEventListener('click', (event) => {
  const anchor = event.target.closest('a[data-link]');
  if (!anchor || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
  event.preventDefault();
  navigate(anchor.getAttribute('href'));
});
document.addEventListener('submit', (event) => {
  const form = event.target;
  if (form.getAttribute('role') !== 'search') return;
  event.preventDefault();
  const query = new URLSearchParams(new FormData(form));
  for (const [k, v] of [...query]) if (!v) query.delete(k);
  navigate(`/?${query}`);
});
function showAccount(signed) {
  const account = document.getElementById('account-link');
  account.textContent = signed ? 'Account' : 'Sign in';
  account.setAttribute('href', signed ? '/account' : '/sign-in');
}

document.addEventListener('cart-changed', (event) =>
  event.detail ? showCount(event.detail) : currentCart().then(showCount).catch(() => showCount(null)),
);
document.addEventListener('session-changed', (event) => showAccount(event.detail));
window.addEventListener('popstate', () => render());

currentCart().then(showCount).catch(() => showCount(null));
session().then(showAccount).catch(() => showAccount(null));
render();
