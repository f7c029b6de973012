// api.js: requests to the connector's own HTTP API (shared/api.js) and its errors in the
// connector's shape ({"error":{"code","message","field"}}).

import { APIError, bodyOf, send } from '../shared/api.js';

/**
 * call sends one request to this origin as token (none when empty); json is JSON-encoded. It resolves
 * to the parsed answer (text when not JSON, null when empty) and rejects with an APIError carrying
 * the connector's error code.
 */
export async function call(method, path, { token = '', json } = {}) {
  const resp = await send('the connector', method, path, { token, json });
  const data = await bodyOf(resp);
  if (!resp.ok) {
    const err = data && data.error ? data.error : {};
    const message = err.message ? `${err.message} (HTTP ${resp.status} ${err.code})` : `HTTP ${resp.status}`;
    throw new APIError(resp.status, message, err.code || '');
  }
  return data;
}

/** subscriptionPath is the path of a subscription (by id) plus rest. */
export function subscriptionPath(id, rest = '') {
  return '/subscriptions/' + encodeURIComponent(id) + rest;
}
