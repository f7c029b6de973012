// main.js: the connector's console. A subscriber signs in with a HipChat token and manages that
// connection's callback subscriptions and deliveries; an operator signs in with the operator
// credential and sees every subscription and the instance's health. Both credentials live in this
// tab's sessionStorage only.

import { APIError } from '../shared/api.js';
import { $, busy, say, showError } from '../shared/page.js';
import { clock, when, zoneName } from '../shared/render.js';
import { call, subscriptionPath } from './api.js';
import { endpointNotes } from './endpoints.js';
import { Health, sampleEveryMs } from './health.js';
import { OperatorList } from './operator.js';
import { button, deliveryItem, subscriptionItem } from './render.js';
import { RoomNames } from './rooms.js';

const tokenKey = 'hipchat-console.token';
const operatorKey = 'hipchat-console.operator';
const refreshMs = sampleEveryMs; // how often open views and the health numbers are read again

const state = {
  token: '',
  operator: '',
  subs: [], // this token's subscriptions
  open: null, // the subscription whose deliveries are shown
  openPayloads: new Set(), // deliveries whose payload the reader unfolded
  shown: { mine: '', deliveries: '' }, // the JSON last rendered, so a refresh that changes nothing keeps focus
  rooms: new RoomNames(),
  all: new OperatorList(),
  health: new Health(),
  timer: 0,
};

/** describe names what a subscription watches, for sentences ("messages of Ops"). */
function describe(sub) {
  return state.rooms.describe(sub).what;
}

// ---- signing in and out

/**
 * checkToken asks HipChat once whose token this is (TestConnection, one HipChat call), so a token
 * HipChat refuses is not "signed in" with an empty list. It resolves to the connection's details.
 */
async function checkToken(token) {
  try {
    return await call('GET', '/connection', { token });
  } catch (e) {
    if (e.code === 'token_rejected') throw new APIError(e.status, 'HipChat rejected this token: check it and try again.', e.code);
    throw e;
  }
}

async function signInToken(token) {
  const who = await checkToken(token);
  const list = await call('GET', '/subscriptions', { token });
  state.token = token;
  $('token-owner').textContent = who && who.user ? ` as ${who.user.name} (@${who.user.mention_name})` : ' (not a user\'s token)';
  sessionStorage.setItem(tokenKey, token);
  $('token-sign-in').hidden = true;
  $('token-whoami').hidden = false;
  $('mine').hidden = false;
  await state.rooms.load(token, true);
  renderMine(list.items || []);
  if (state.operator) await loadAll();
  say(`Signed in: ${(list.items || []).length} subscription(s).`);
}

function signOutToken() {
  state.token = '';
  state.subs = [];
  state.open = null;
  state.openPayloads.clear();
  state.rooms.forget();
  state.shown.mine = state.shown.deliveries = '';
  sessionStorage.removeItem(tokenKey);
  $('token-sign-in').hidden = false;
  $('token-whoami').hidden = true;
  $('mine').hidden = true;
  $('deliveries').hidden = true;
  hideSecret();
  $('mine-list').replaceChildren();
  $('deliveries-list').replaceChildren();
  say('Signed out; the token is forgotten.');
  $('token-input').focus();
}

async function signInOperator(operator) {
  state.all.reset();
  let list;
  try {
    list = await state.all.load(operator, state.rooms, mineIDs());
  } catch (e) {
    if (e.status === 404) throw new Error('This connector has no operator credential configured (-admin-token-file), so it has no operator routes.');
    throw e;
  }
  state.operator = operator;
  sessionStorage.setItem(operatorKey, operator);
  $('operator-sign-in').hidden = true;
  $('operator-whoami').hidden = false;
  $('all').hidden = false;
  $('health').hidden = false;
  await state.health.load();
  say(`Signed in as operator: ${typeof list.total === 'number' ? list.total : (list.items || []).length} subscription(s) in all.`);
}

function signOutOperator() {
  state.operator = '';
  state.all.reset();
  state.health.forget();
  sessionStorage.removeItem(operatorKey);
  $('operator-sign-in').hidden = false;
  $('operator-whoami').hidden = true;
  $('all').hidden = true;
  $('health').hidden = true;
  $('all-list').replaceChildren();
  say('Signed out as operator; the credential is forgotten.');
  $('operator-input').focus();
}

// A 401 means the credential is wrong (or was rotated): forget it.
function onAuthError(e, which) {
  if (e && e.status === 401) {
    if (which === 'operator') signOutOperator();
    else signOutToken();
  }
  showError(e);
}

// ---- this token's subscriptions

function mineActions(sub) {
  const label = (what) => `${what} subscription ${sub.id}`;
  const actions = [button('Deliveries', 'deliveries', sub.id, label('Deliveries of'))];
  if (sub.status === 'paused' || sub.status === 'suspended') actions.push(button('Resume', 'resume', sub.id, label('Resume')));
  if (sub.status === 'active' || sub.status === 'suspended') actions.push(button('Pause', 'pause', sub.id, label('Pause')));
  if (sub.status !== 'disabled') {
    actions.push(button('Send test event', 'test', sub.id, label('Send a test event to')));
    actions.push(button('Rotate secret', 'rotate', sub.id, label('Rotate the secret of')));
  }
  return actions;
}

function renderMine(items) {
  state.subs = items;
  const json = JSON.stringify([items, [...state.rooms.byID]]);
  if (json === state.shown.mine) return;
  state.shown.mine = json;
  const notes = endpointNotes(items, describe);
  $('mine-list').replaceChildren(...items.map((s) => subscriptionItem(s, mineActions(s), state.rooms.describe(s), notes.get(s.id))));
  $('mine-empty').hidden = items.length > 0;
  if (state.open) {
    const sub = items.find((s) => s.id === state.open);
    if (!sub) closeDeliveries();
  }
}

async function loadMine() {
  const list = await call('GET', '/subscriptions', { token: state.token });
  const items = list.items || [];
  if (state.rooms.missing(items)) await state.rooms.load(state.token); // a room made since: at most once a minute
  renderMine(items);
}

/** mineIDs are the ids of the signed-in token's subscriptions, which the operator's list marks. */
function mineIDs() {
  return new Set(state.token ? state.subs.map((s) => s.id) : []);
}

async function actOnMine(action, id, target) {
  const token = state.token;
  switch (action) {
    case 'deliveries':
      await openDeliveries(id);
      return;
    case 'pause':
    case 'resume': {
      const sub = await call('POST', subscriptionPath(id, '/' + action), { token });
      say(`Subscription ${describe(sub)} (${id}) is ${sub.status}.`);
      break;
    }
    case 'test': {
      const dl = await call('POST', subscriptionPath(id, '/test'), { token });
      say(`Test event queued as delivery ${dl.id}.`);
      if (state.open === id) await loadDeliveries();
      break;
    }
    case 'rotate': {
      const sub = await call('POST', subscriptionPath(id, '/rotate-secret'), { token });
      showSecret(sub);
      break;
    }
    default:
      return;
  }
  await loadMine();
  // The list was rendered again: put focus back on the same button, if it is still there.
  const again = $('mine-list').querySelector(`button[data-action="${target.dataset.action}"][data-id="${CSS.escape(id)}"]`);
  if (again) again.focus();
}

// ---- the new secret, shown once

function showSecret(sub) {
  $('secret-value').textContent = sub.secret || '';
  $('secret-expires').textContent = when(sub.previous_secret_expires_at);
  $('secret-box').hidden = false;
  say(`Subscription ${sub.id} has a new signing secret: copy it now, it is not shown again.`);
  $('secret-copy').focus();
}

function hideSecret() {
  $('secret-value').textContent = '';
  $('secret-box').hidden = true;
}

async function copySecret() {
  const secret = $('secret-value').textContent;
  try {
    await navigator.clipboard.writeText(secret);
    say('The secret is on the clipboard.');
  } catch {
    // No clipboard (an insecure origin, or permission refused): select it for Ctrl+C.
    const range = document.createRange();
    range.selectNodeContents($('secret-value'));
    const selection = getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    say('The secret is selected: press Ctrl+C (or ⌘C) to copy it.');
  }
}

// ---- deliveries of one subscription

async function openDeliveries(id) {
  state.open = id;
  state.shown.deliveries = '';
  state.openPayloads.clear();
  const sub = state.subs.find((s) => s.id === id);
  $('deliveries').hidden = false;
  $('deliveries-title').textContent = sub ? `Deliveries of ${describe(sub)}` : 'Deliveries';
  $('deliveries-sub').textContent = 'subscription ' + id;
  if (!$('recover-since').value) $('recover-since').value = clock(new Date(Date.now() - 3600 * 1000));
  await loadDeliveries();
  $('deliveries-title').focus();
}

function closeDeliveries() {
  state.open = null;
  state.shown.deliveries = '';
  $('deliveries').hidden = true;
  $('deliveries-list').replaceChildren();
}

async function loadDeliveries() {
  const id = state.open;
  if (!id) return;
  const list = await call('GET', subscriptionPath(id, '/deliveries'), { token: state.token });
  if (state.open !== id) return;
  const items = list.items || [];
  const json = JSON.stringify(items);
  if (json === state.shown.deliveries) return;
  state.shown.deliveries = json;
  $('deliveries-list').replaceChildren(...items.map((dl) => deliveryItem(dl, state.openPayloads.has(dl.id))));
  $('deliveries-empty').hidden = items.length > 0;
}

async function resend(deliveryID) {
  const dl = await call('POST', subscriptionPath(state.open, '/deliveries/' + encodeURIComponent(deliveryID) + '/resend'), { token: state.token });
  say(`Delivery ${dl.id} is queued again (${dl.status}).`);
  await loadDeliveries();
  // Queued again, it has no resend button until it is out: focus goes back to the heading.
  const again = $('deliveries-list').querySelector(`[data-delivery="${CSS.escape(deliveryID)}"] button`);
  (again || $('deliveries-title')).focus();
}

async function recover(form) {
  const since = parseClock($('recover-since').value);
  if (!since) throw new Error(`Give the time to recover since as YYYY-MM-DD HH:MM:SS, in your time zone (${zoneName()}).`);
  const result = await call('POST', subscriptionPath(state.open, '/recover'), {
    token: state.token, json: { since: since.toISOString().replace(/\.\d+Z$/, 'Z') },
  });
  say(`${result.queued} deliver${result.queued === 1 ? 'y' : 'ies'} queued again.`);
  await loadDeliveries();
  form.querySelector('button').focus();
}

// parseClock reads "YYYY-MM-DD HH:MM[:SS]" (a T may stand for the space) in the reader's time zone;
// null when it is not such a time.
function parseClock(text) {
  const m = /^\s*(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?\s*$/.exec(text);
  if (!m) return null;
  const [y, mo, d, h, mi, se] = m.slice(1).map((v) => Number(v || 0));
  const date = new Date(y, mo - 1, d, h, mi, se);
  return date.getMonth() === mo - 1 && date.getDate() === d && date.getHours() === h ? date : null;
}

// ---- the operator's views

async function loadAll() {
  await state.all.load(state.operator, state.rooms, mineIDs());
}

async function actOnAll(action, id) {
  if (action !== 'pause' && action !== 'resume') return;
  const sub = await call('POST', '/admin/subscriptions/' + encodeURIComponent(id) + '/' + action, { token: state.operator });
  say(`Subscription ${describe(sub)} (${id}) is ${sub.status}.`);
  await loadAll();
  if (state.token) await loadMine();
  const again = $('all-list').querySelector(`[data-sub="${CSS.escape(id)}"] button`);
  if (again) again.focus();
}

// ---- refreshing what is open

async function refresh() {
  if (document.hidden) return;
  try {
    const jobs = [];
    if (state.token) jobs.push(loadMine().catch((e) => onAuthError(e, 'token')), loadDeliveries());
    if (state.operator) jobs.push(loadAll().catch((e) => onAuthError(e, 'operator')), state.health.load());
    await Promise.all(jobs);
  } catch (e) {
    showError(e);
  }
}

// ---- wiring

function wire() {
  $('token-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    // A token copied with its header's scheme ("Bearer …") is the token after it.
    const token = $('token-input').value.trim().replace(/^bearer\s+/i, '');
    busy(ev.target, async () => {
      await signInToken(token);
      $('token-input').value = '';
    });
  });
  $('operator-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const operator = $('operator-input').value.trim();
    busy(ev.target, async () => {
      await signInOperator(operator);
      $('operator-input').value = '';
    });
  });
  $('token-sign-out').addEventListener('click', signOutToken);
  $('operator-sign-out').addEventListener('click', signOutOperator);

  $('mine-refresh').addEventListener('click', (ev) => busy(ev.target, loadMine));
  $('mine-list').addEventListener('click', (ev) => {
    const b = ev.target.closest('button[data-action]');
    if (b) busy(b, () => actOnMine(b.dataset.action, b.dataset.id, b));
  });
  $('secret-copy').addEventListener('click', copySecret);
  $('secret-dismiss').addEventListener('click', () => { hideSecret(); say('The secret is no longer shown.'); });

  $('deliveries-refresh').addEventListener('click', (ev) => busy(ev.target, loadDeliveries));
  $('deliveries-close').addEventListener('click', () => {
    const id = state.open;
    closeDeliveries();
    const back = $('mine-list').querySelector(`button[data-action="deliveries"][data-id="${CSS.escape(id || '')}"]`);
    if (back) back.focus();
  });
  $('deliveries-list').addEventListener('click', (ev) => {
    const b = ev.target.closest('button[data-action="resend"]');
    if (b) busy(b, () => resend(b.dataset.id));
  });
  $('recover-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(ev.target, () => recover(ev.target));
  });

  $('all-filter').addEventListener('submit', (ev) => {
    ev.preventDefault();
    state.all.reset();
    busy(ev.target, loadAll);
  });
  $('all-status').addEventListener('change', () => {
    state.all.reset();
    busy($('all-filter'), loadAll);
  });
  // busy enables the button again when done: the pager then says again where one can go.
  $('all-prev').addEventListener('click', (ev) => {
    state.all.previous();
    busy(ev.target, loadAll).then(() => state.all.pagerButtons());
  });
  $('all-next').addEventListener('click', (ev) => {
    state.all.next();
    busy(ev.target, loadAll).then(() => state.all.pagerButtons());
  });
  $('all-list').addEventListener('click', (ev) => {
    const b = ev.target.closest('button[data-action]');
    if (b) busy(b, () => actOnAll(b.dataset.action, b.dataset.id));
  });
  $('health-refresh').addEventListener('click', (ev) => busy(ev.target, () => state.health.load()));
  // A payload the reader unfolds stays unfolded when the list is read again.
  $('deliveries-list').addEventListener('toggle', (ev) => {
    const d = ev.target;
    if (!(d instanceof HTMLDetailsElement) || !d.dataset.delivery) return;
    if (d.open) state.openPayloads.add(d.dataset.delivery);
    else state.openPayloads.delete(d.dataset.delivery);
  }, true);
}

async function start() {
  wire();
  const zone = zoneName();
  $('zone').textContent = `Times are in your time zone (${zone}), as YYYY-MM-DD HH:MM:SS; hover one for UTC.`;
  $('recover-zone').textContent = `your time, ${zone}`;
  const token = sessionStorage.getItem(tokenKey);
  const operator = sessionStorage.getItem(operatorKey);
  try {
    if (token) await signInToken(token);
  } catch (e) {
    onAuthError(e, 'token');
  }
  try {
    if (operator) await signInOperator(operator);
  } catch (e) {
    onAuthError(e, 'operator');
  }
  state.timer = setInterval(refresh, refreshMs);
}

start();
