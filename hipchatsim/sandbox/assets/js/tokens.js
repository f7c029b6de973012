// tokens.js: the tokens the page holds, all in this tab's sessionStorage (never a cookie, never in
// the HTML): the signed-in token, and per user a token to post as that user, minted with the
// signed-in token (grant_type=personal, which the emulator grants to a group admin) or pasted.

import { APIError } from '../shared/api.js';
import { call } from './api.js';

const signedInKey = 'hipchat-sandbox.token';
const userTokensKey = 'hipchat-sandbox.user-tokens';

/** signedIn returns the signed-in token, or ''. */
export function signedIn() {
  return sessionStorage.getItem(signedInKey) || '';
}

/** setSignedIn keeps token as the signed-in token. */
export function setSignedIn(token) {
  sessionStorage.setItem(signedInKey, token);
}

/** userTokens returns {userId: {token, how: "minted"|"pasted"}}. */
export function userTokens() {
  try {
    return JSON.parse(sessionStorage.getItem(userTokensKey) || '{}') || {};
  } catch {
    return {};
  }
}

/** setUserToken keeps token for the user with id; how is "minted" or "pasted". */
export function setUserToken(id, token, how) {
  const all = userTokens();
  all[id] = { token, how };
  sessionStorage.setItem(userTokensKey, JSON.stringify(all));
}

function forgetUserToken(id) {
  const all = userTokens();
  delete all[id];
  sessionStorage.setItem(userTokensKey, JSON.stringify(all));
}

/**
 * tokenFor returns a token to act as user ({id, name}): the signed-in token for its owner, a kept
 * one, or one minted now. It rejects with an APIError saying what to do when none can be had.
 */
export async function tokenFor(user, me) {
  if (!user || (me && me.id === user.id)) return signedIn();
  const kept = userTokens()[user.id];
  if (kept) return kept.token;
  try {
    const issued = await call('POST', '/v2/oauth/token', {
      token: signedIn(),
      body: new URLSearchParams({ grant_type: 'personal', user_id: String(user.id) }),
      contentType: 'application/x-www-form-urlencoded',
    });
    setUserToken(user.id, issued.access_token, 'minted');
    return issued.access_token;
  } catch (e) {
    throw new APIError(e.status, `No token to act as ${user.name}: ${e.message}. ` +
      'Sign in with a group admin\'s token, or paste the user\'s token under Users.');
  }
}

/**
 * withUserToken runs fn(token) as user; when a kept token was refused (401: revoked, or the emulator
 * restarted) it forgets it and tries once more with a fresh one.
 */
export async function withUserToken(user, me, fn) {
  const token = await tokenFor(user, me);
  try {
    return await fn(token);
  } catch (e) {
    if (e.status !== 401 || token === signedIn() || !user) throw e;
    forgetUserToken(user.id);
    return fn(await tokenFor(user, me));
  }
}

/** signOut revokes the minted tokens (best effort) and forgets every token. */
export async function signOut() {
  const token = signedIn();
  const minted = Object.values(userTokens()).filter((t) => t.how === 'minted');
  sessionStorage.removeItem(userTokensKey);
  sessionStorage.removeItem(signedInKey);
  await Promise.allSettled(minted.map((t) =>
    call('DELETE', '/v2/oauth/token/' + encodeURIComponent(t.token), { token })));
}
