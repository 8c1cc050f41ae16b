// The API's reference pages: each service's OpenAPI document (GET /api/<service>/docs/
// openapi.json) shown with Swagger UI, which the storefront serves itself, like every script
// it runs. Loaded only when a docs page is opened.
import 'swagger-ui-dist/swagger-ui.css';
import './apidocs.css';
import SwaggerUI from 'swagger-ui-dist/swagger-ui-es-bundle.js';
import { h, link } from './dom.js';

const SERVICES = ['catalog', 'cart', 'orders', 'accounts'];

export async function apiDocsPage(service) {
  const chosen = SERVICES.includes(service) ? service : 'catalog';
  const holder = h('div', { class: 'api-docs' });
  const page = h(
    'section',
    {},
    h('h1', { tabindex: '-1' }, `API: ${chosen}`),
    h('nav', { 'aria-label': 'Services' }, SERVICES.flatMap((s) => [link(`/api-docs/${s}`, s), ' '])),
    h('p', {}, 'The public contract and what this shop adds to it; admin calls need a staff session or the admin token.'),
    holder,
  );
  SwaggerUI({
    domNode: holder,
    url: `/api/${chosen}/docs/openapi.json`,
    // The default validator badge would call validator.swagger.io: nothing leaves the site.
    validatorUrl: null,
    deepLinking: false,
  });
  return page;
}
