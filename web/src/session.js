// The shopper's session: who is signed in (the cookie is HttpOnly, so the page asks the
// accounts service), signing up, in and out.
import { api, ApiError, useCsrfToken } from './api.js';
import { cartId, useCart } from './cart.js';

let current = null;
// Set while this browser has signed in: a guest's page never asks the accounts service who
// it is (a request saved per page view, and no 401 to show in the console).
const SIGNED_IN = 'petshore.signed_in';

function changed(session) {
  current = Promise.resolve(session);
  useCsrfToken(session ? session.csrf_token : null);
  if (session) localStorage.setItem(SIGNED_IN, '1');
  else localStorage.removeItem(SIGNED_IN);
  document.dispatchEvent(new CustomEvent('session-changed', { detail: session }));
  return session;
}

// The signed-in session ({customer, csrf_token, cart_id}), or null; asked once per page load.
export function session() {
  if (!current && !localStorage.getItem(SIGNED_IN)) current = Promise.resolve(null);
  if (!current) {
    current = api('/api/accounts/sessions/current')
      .then((found) => {
        useCsrfToken(found.csrf_token);
        return found;
      })
      .catch((error) => {
        // Ended (signed out elsewhere, expired): a guest from now on.
        if (error instanceof ApiError && error.status === 401) return changed(null);
        current = null; // asked again next time
        throw error;
      });
  }
  return current;
}

function started(answer) {
  useCart(answer.cart_id || cartId());
  document.dispatchEvent(new CustomEvent('cart-changed', { detail: null }));
  return changed(answer);
}

export async function signIn(email, password) {
  const guest = cartId();
  const answer = await api('/api/accounts/sessions', {
    method: 'POST',
    body: guest ? { email, password, cart_id: guest } : { email, password },
  });
  return started(answer);
}

export async function signUp(name, email, password) {
  const guest = cartId();
  const created = await api('/api/accounts/customers', {
    method: 'POST',
    body: guest ? { name, email, password, cart_id: guest } : { name, email, password },
  });
  const { csrf_token: csrf, cart_id: cart, ...customer } = created;
  return started({ customer, csrf_token: csrf, cart_id: cart });
}

export async function signOut({ everywhere = false } = {}) {
  await api(everywhere ? '/api/accounts/sessions' : '/api/accounts/sessions/current', { method: 'DELETE' });
  // The cart was the customer's: it stays with the account, not on this device.
  useCart(null);
  document.dispatchEvent(new CustomEvent('cart-changed', { detail: null }));
  return changed(null);
}

export async function updateProfile(changes) {
  const customer = await api('/api/accounts/me', { method: 'PATCH', body: changes });
  const now = await session();
  return changed({ ...now, customer });
}

export async function changePassword(currentPassword, newPassword) {
  await api('/api/accounts/me/password', {
    method: 'PUT',
    body: { current_password: currentPassword, new_password: newPassword },
  });
}
