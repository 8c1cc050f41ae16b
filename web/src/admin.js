// The back office at /admin: for the shop's staff, signed in with the same session as
// shoppers (the admin token is for automation and is never typed into a page). Loaded only
// when a page under /admin is opened, so shoppers never download it.
import './admin.css';
import { alertBox, h, link } from './dom.js';
import { session } from './session.js';
import { orderPage, ordersPage } from './admin-orders.js';
import { pricingPage } from './admin-pricing.js';
import { productPage, productsPage } from './admin-products.js';
import { staffPage } from './admin-staff.js';

const STAFF = new Set(['staff', 'owner']);

function route(path, who) {
  let match;
  if (path === '/admin/staff') return () => staffPage(who);
  if (path === '/admin' || path === '/admin/' || path === '/admin/orders') return ordersPage;
  if ((match = path.match(/^\/admin\/orders\/([^/]+)$/))) return (url, nav) => orderPage(decodeURIComponent(match[1]), nav);
  if (path === '/admin/products') return productsPage;
  if (path === '/admin/pricing') return pricingPage;
  if (path === '/admin/products/new') return (url, nav) => productPage(null, nav);
  if ((match = path.match(/^\/admin\/products\/([^/]+)$/))) return (url, nav) => productPage(decodeURIComponent(match[1]), nav);
  return null;
}

function layout(who, page) {
  return h(
    'div',
    { class: 'admin' },
    h(
      'nav',
      { class: 'admin-nav', 'aria-label': 'Back office' },
      link('/admin/orders', 'Orders'),
      link('/admin/products', 'Products and stock'),
      link('/admin/products/new', 'New product'),
      link('/admin/pricing', 'Shipping, tax and codes'),
      link('/admin/staff', 'Staff'),
      h('span', { class: 'who' }, `${who.customer.name} (${who.customer.role})`),
    ),
    page,
  );
}

export async function adminPage(url, navigate) {
  const who = await session();
  const here = url.pathname + url.search;
  if (!who) {
    return h(
      'section',
      {},
      h('h1', { tabindex: '-1' }, 'Back office'),
      h('p', {}, 'Sign in with a staff account to run the shop.'),
      link(`/sign-in?next=${encodeURIComponent(here)}`, 'Sign in'),
    );
  }
  if (!STAFF.has(who.customer.role)) {
    return h(
      'section',
      {},
      h('h1', { tabindex: '-1' }, 'Back office'),
      alertBox('This account is not one of the shop’s staff. Ask the owner to make it one.'),
      link('/', 'Back to the shop'),
    );
  }
  const page = route(url.pathname, who);
  if (!page) return layout(who, h('section', {}, h('h1', { tabindex: '-1' }, 'Not found'), link('/admin', 'Orders')));
  return layout(who, await page(url, navigate));
}
