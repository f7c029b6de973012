// api.js: requests to the emulator (HipChat v2 and /_sim/), their errors in HipChat's shape, and the
// rate limit each token's last answer reported.

/** An answer that was not 2xx: its status and HipChat's error message. Status 0: no answer. */
export class APIError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// The X-Ratelimit-* headers of each token's latest answer: {limit, remaining, resetMs}.
const limits = new Map();

/** rateLimitOf returns what the emulator last said about token's window, or null (no limit). */
export function rateLimitOf(token) {
  return limits.get(token) || null;
}

/**
 * call sends one request to this origin. json is JSON-encoded; body goes as is with contentType.
 * It resolves to the parsed JSON answer (null when empty) and rejects with an APIError.
 */
export async function call(method, path, { token = '', json, body, contentType } = {}) {
  const headers = {};
  if (token) headers.Authorization = 'Bearer ' + token;
  let payload = body;
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(json);
  } else if (contentType) {
    headers['Content-Type'] = contentType;
  }
  let resp;
  try {
    resp = await fetch(path, { method, headers, body: payload, cache: 'no-store', credentials: 'omit' });
  } catch (e) {
    throw new APIError(0, 'the emulator did not answer: ' + e.message);
  }
  if (token) noteLimit(token, resp.headers);
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
