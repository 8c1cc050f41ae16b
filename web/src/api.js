// The storefront's calls to the API, and the words a shopper sees when one fails.

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details || {};
  }
}

const WORDS = {
  unauthorized: 'Please sign in first.',
  forbidden: 'Please sign in again.',
  too_many_requests: 'Too many attempts. Please wait a few minutes, then try again.',
  out_of_stock: 'Sorry, some items sold out before you could check out.',
  payment_declined: 'Your card was declined. Try another card.',
  unavailable: 'The shop is having trouble right now. Please try again in a moment.',
  not_found: 'We could not find that.',
  invalid_request: 'Some details need another look.',
};

export function explain(error) {
  if (error instanceof ApiError) return WORDS[error.code] || error.message;
  return WORDS.unavailable;
}

// The signed-in session's CSRF token: every change sent with the session cookie carries it.
let csrfToken = null;

export function useCsrfToken(token) {
  csrfToken = token;
}

// `fresh`: ask the server again even when the browser holds a copy it may still reuse (the
// catalog's reads are cacheable for a while; the back office must see its own changes).
export async function api(path, { method = 'GET', body, headers = {}, fresh = false } = {}) {
  let response;
  const sent = { ...headers };
  if (csrfToken && method !== 'GET') sent['X-CSRF-Token'] = csrfToken;
  if (body !== undefined) sent['Content-Type'] = 'application/json';
  try {
    response = await fetch(path, {
      method,
      cache: fresh ? 'no-cache' : 'default',
      headers: sent,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'unavailable', WORDS.unavailable);
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const error = data && data.error;
    throw new ApiError(
      response.status,
      (error && error.code) || 'unavailable',
      (error && error.message) || WORDS.unavailable,
      error && error.details,
    );
  }
  return data;
}

export function money(cents, currency) {
  const format = new Intl.NumberFormat(undefined, { style: 'currency', currency });
  // Minor units: cents for USD, none for JPY.
  const digits = format.resolvedOptions().maximumFractionDigits;
  return format.format(cents / 10 ** digits);
}

// The orders service answers for at most this many SKUs at once.
const STOCK_BATCH = 100;

export async function stockOf(skus) {
  const batches = [];
  for (let i = 0; i < skus.length; i += STOCK_BATCH) batches.push(skus.slice(i, i + STOCK_BATCH));
  const answers = await Promise.all(
    batches.map((batch) => api(`/api/orders/inventory?skus=${batch.map(encodeURIComponent).join(',')}`)),
  );
  return Object.fromEntries(answers.flatMap((data) => data.items.map((i) => [i.sku, i.available])));
}
