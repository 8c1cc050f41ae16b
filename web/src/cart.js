// The shopper's cart: its id lives in the browser, so the cart survives a reload.
import { api, ApiError } from './api.js';

const KEY = 'petshore.cart_id';

export function cartId() {
  return localStorage.getItem(KEY);
}

// After signing in, the customer's cart (the guest cart merged into it) is the cart.
export function useCart(id) {
  if (id) localStorage.setItem(KEY, id);
  else localStorage.removeItem(KEY);
}

export async function currentCart({ create = false } = {}) {
  const id = localStorage.getItem(KEY);
  if (id) {
    try {
      return await api(`/api/cart/carts/${encodeURIComponent(id)}`);
    } catch (error) {
      // An expired or unknown cart is gone for good; anything else is worth reporting.
      if (!(error instanceof ApiError && error.status === 404)) throw error;
      localStorage.removeItem(KEY);
    }
  }
  if (!create) return null;
  const cart = await api('/api/cart/carts', { method: 'POST' });
  localStorage.setItem(KEY, cart.cart_id);
  return cart;
}

export async function setQuantity(sku, quantity) {
  const cart = await currentCart({ create: true });
  return api(`/api/cart/carts/${cart.cart_id}/items/${encodeURIComponent(sku)}`, {
    method: 'PUT',
    body: { quantity },
  });
}

export async function addToCart(sku, quantity) {
  const cart = await currentCart({ create: true });
  const line = cart.items.find((i) => i.sku === sku);
  return setQuantity(sku, Math.min(99, (line ? line.quantity : 0) + quantity));
}

export function itemCount(cart) {
  return cart ? cart.items.reduce((n, i) => n + i.quantity, 0) : 0;
}
