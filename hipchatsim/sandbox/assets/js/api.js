// api.js: requests to the emulator (HipChat v2 and /_sim/) on the shared request (shared/api.js),
// their errors in HipChat's shape, and the rate limit each token's last answer reported.

import { APIError, bodyOf, send } from '../shared/api.js';

// The X-Ratelimit-* headers of each token's latest answer: {limit, remaining, resetMs}.
const limits = new Map();

/** rateLimitOf returns what the emulator last said about token's window, or null (no limit). */
export function rateLimitOf(token) {
  return limits.get(token) || null;
}

/**
 * call sends one request to this origin (shared/api.js): json is JSON-encoded; body goes as is with
 * contentType. It notes the token's rate limit, resolves to the parsed JSON answer (null when
 * empty) and rejects with an APIError carrying HipChat's error message.
 */
export async function call(method, path, { token = '', json, body, contentType } = {}) {
  const resp = await send('the emulator', method, path, { token, json, body, contentType });
  if (token) noteLimit(token, resp.headers);
  const data = await bodyOf(resp);
  if (!resp.ok) {
    const message = data && data.error && data.error.message ? data.error.message : `HTTP ${resp.status}`;
    throw new APIError(resp.status, message);
  }
  return data;
}

function noteLimit(token, headers) {
  const limit = headers.get('X-Ratelimit-Limit');
  const remaining = headers.get('X-Ratelimit-Remaining');
  const reset = headers.get('X-Ratelimit-Reset');
  if (limit === null || remaining === null || reset === null) {
    limits.delete(token);
    return;
  }
  limits.set(token, { limit: Number(limit), remaining: Number(remaining), resetMs: parseFloat(reset) * 1000 });
}

/** room is the path of a room (by id) plus rest. */
export function roomPath(id, rest = '') {
  return '/v2/room/' + encodeURIComponent(String(id)) + rest;
}

/**
 * shareFileBody builds the multipart/related body HipChat's share/file takes: a JSON part with the
 * message, then the file. It returns {body: Blob, contentType}.
 */
export function shareFileBody(file, message) {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  const boundary = 'sandbox-' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  const filename = file.name.replace(/[\r\n]/g, ' ').replace(/["\\]/g, '\\$&');
  const head =
    `--${boundary}\r\n` +
    'Content-Type: application/json; charset=UTF-8\r\n' +
    'Content-Disposition: attachment; name="metadata"\r\n\r\n' +
    JSON.stringify({ message }) + '\r\n' +
    `--${boundary}\r\n` +
    `Content-Type: ${file.type || 'application/octet-stream'}\r\n` +
    `Content-Disposition: attachment; name="file"; filename="${filename}"\r\n\r\n`;
  const tail = `\r\n--${boundary}--\r\n`;
  return { body: new Blob([head, file, tail]), contentType: 'multipart/related; boundary=' + boundary };
}
