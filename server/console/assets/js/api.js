// api.js: requests to the connector's own HTTP API and its errors in the connector's shape
// ({"error":{"code","message","field"}}). Credentials travel in Authorization only; no cookie.

/** An answer that was not 2xx: its status, the connector's error code and message. Status 0: no answer. */
export class APIError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/**
 * call sends one request to this origin as token (none when empty); json is JSON-encoded. It resolves
 * to the parsed answer (text when not JSON, null when empty) and rejects with an APIError.
 */
export async function call(method, path, { token = '', json } = {}) {
  const headers = {};
  if (token) headers.Authorization = 'Bearer ' + token;
  let body;
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  }
  let resp;
  try {
    resp = await fetch(path, { method, headers, body, cache: 'no-store', credentials: 'omit' });
  } catch (e) {
    throw new APIError(0, 'unreachable', 'the connector did not answer: ' + e.message);
  }
  const text = await resp.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!resp.ok) {
    const err = data && data.error ? data.error : {};
    const message = err.message ? `${err.message} (HTTP ${resp.status} ${err.code})` : `HTTP ${resp.status}`;
    throw new APIError(resp.status, err.code || '', message);
  }
  return data;
}

/** subscriptionPath is the path of a subscription (by id) plus rest. */
export function subscriptionPath(id, rest = '') {
  return '/subscriptions/' + encodeURIComponent(id) + rest;
}
