// api.js (shared): one request to the page's own origin, and the error of an answer that was not
// 2xx. Credentials travel in Authorization only; no cookie is sent or kept. Each page's own api.js
// reads its server's errors and adds its paths.

/**
 * An answer that was not 2xx: its status, a message for the reader and, when the server gave one,
 * its error code. Status 0: nothing answered (code 'unreachable').
 */
export class APIError extends Error {
  constructor(status, message, code = '') {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/**
 * send sends one request to this origin as token (none when empty): json is JSON-encoded, else
 * body goes as is, with contentType when given. It resolves to the Response, whatever its status,
 * and rejects with an APIError of status 0 naming server ("the emulator") when nothing answers.
 */
export async function send(server, method, path, { token = '', json, body, contentType } = {}) {
  const headers = {};
  if (token) headers.Authorization = 'Bearer ' + token;
  let payload = body;
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(json);
  } else if (contentType) {
    headers['Content-Type'] = contentType;
  }
  try {
    return await fetch(path, { method, headers, body: payload, cache: 'no-store', credentials: 'omit' });
  } catch (e) {
    throw new APIError(0, `${server} did not answer: ${e.message}`, 'unreachable');
  }
}

/** bodyOf reads an answer's body: its JSON parsed, its text when not JSON, null when empty. */
export async function bodyOf(resp) {
  const text = await resp.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
