// The back office's forms: fields, a form that runs one call and says how it went, money as
// people type it.
import { ApiError, explain } from './api.js';
import { alertBox, h } from './dom.js';

// What a failed admin call says, with the fields it names.
export function problem(error) {
  if (error instanceof ApiError && error.code !== 'unavailable' && error.message) {
    const fields = error.details.fields;
    return fields && fields.length ? `${error.message} (${fields.join(', ')})` : error.message;
  }
  return explain(error);
}

// A form whose submit runs `action`; its outcome is announced in the form's own live region.
export function actionForm(label, action, ...fields) {
  const status = h('p', { class: 'status', role: 'status', 'aria-live': 'polite' });
  const button = h('button', { type: 'submit' }, label);
  const form = h(
    'form',
    {
      class: 'admin-form',
      onsubmit: async (event) => {
        event.preventDefault();
        button.disabled = true;
        status.replaceChildren('Working…');
        try {
          const said = await action(new FormData(form), status);
          status.replaceChildren(said || 'Done.');
        } catch (error) {
          status.replaceChildren(alertBox(problem(error)));
        } finally {
          button.disabled = false;
        }
      },
    },
    ...fields,
    button,
    status,
  );
  return form;
}

export function input(label, name, attrs = {}) {
  const id = `a-${name}`;
  return h('p', { class: 'field' }, h('label', { for: id }, label), h('input', { id, name, ...attrs }));
}

// Minor units of `currency` from what a person types ("12.50" → 1250; "1299" yen → 1299).
export function toMinor(text, currency) {
  const digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits;
  const value = Number(String(text).trim());
  if (!Number.isFinite(value)) return NaN;
  return Math.round(value * 10 ** digits);
}

export function fromMinor(cents, currency) {
  const digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits;
  return (cents / 10 ** digits).toFixed(digits);
}
