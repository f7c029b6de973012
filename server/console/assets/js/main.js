// main.js: the connector's console. A subscriber signs in with a HipChat token and manages that
// connection's callback subscriptions and deliveries; an operator signs in with the operator
// credential and sees every subscription and the instance's health. Both credentials live in this
// tab's sessionStorage only.

import { $, busy, say, showError } from '../shared/page.js';
import { el, when } from '../shared/render.js';
import { call, subscriptionPath } from './api.js';
import { drawSparkline, parseMetrics, sample } from './metrics.js';
import { button, deliveryItem, subscriptionItem } from './render.js';

const tokenKey = 'hipchat-console.token';
const operatorKey = 'hipchat-console.operator';
const refreshMs = 5000; // how often open views and the health numbers are read again
const sparkSamples = 60; // five minutes of samples at refreshMs

const state = {
  token: '',
  operator: '',
  subs: [], // this token's subscriptions
  open: null, // the subscription whose deliveries are shown
  shown: { mine: '', deliveries: '', all: '' }, // the JSON last rendered, so a refresh that changes nothing keeps focus
  delivered: null, // {at, total}: the last sample of delivery_attempts_total{result="delivered"}
  rates: [],
  timer: 0,
};

// ---- signing in and out

async function signInToken(token) {
  const list = await call('GET', '/subscriptions', { token });
  state.token = token;
  sessionStorage.setItem(tokenKey, token);
  $('token-sign-in').hidden = true;
  $('token-whoami').hidden = false;
  $('mine').hidden = false;
  renderMine(list.items || []);
  say(`Signed in: ${(list.items || []).length} subscription(s).`);
}

function signOutToken() {
  state.token = '';
  state.subs = [];
  state.open = null;
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
  let list;
  try {
    list = await call('GET', adminListPath(), { token: operator });
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
  renderAll(list.items || []);
  await loadHealth();
  say(`Signed in as operator: ${(list.items || []).length} subscription(s) in all.`);
}

function signOutOperator() {
  state.operator = '';
  state.shown.all = '';
  state.delivered = null;
  state.rates = [];
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
  const json = JSON.stringify(items);
  if (json === state.shown.mine) return;
  state.shown.mine = json;
  $('mine-list').replaceChildren(...items.map((s) => subscriptionItem(s, mineActions(s))));
  $('mine-empty').hidden = items.length > 0;
  if (state.open) {
    const sub = items.find((s) => s.id === state.open);
    if (!sub) closeDeliveries();
  }
}

async function loadMine() {
  const list = await call('GET', '/subscriptions', { token: state.token });
  renderMine(list.items || []);
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
      say(`Subscription ${id} is ${sub.status}.`);
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
  $('deliveries').hidden = false;
  $('deliveries-title').textContent = 'Deliveries';
  $('deliveries-sub').textContent = 'subscription ' + id;
  if (!$('recover-since').value) $('recover-since').value = localInput(new Date(Date.now() - 3600 * 1000));
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
  $('deliveries-list').replaceChildren(...items.map(deliveryItem));
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
  const since = new Date($('recover-since').value);
  if (Number.isNaN(since.getTime())) throw new Error('Give the time to recover since.');
  const result = await call('POST', subscriptionPath(state.open, '/recover'), {
    token: state.token, json: { since: since.toISOString().replace(/\.\d+Z$/, 'Z') },
  });
  say(`${result.queued} deliver${result.queued === 1 ? 'y' : 'ies'} queued again.`);
  await loadDeliveries();
  form.querySelector('button').focus();
}

// localInput is a Date as a datetime-local input's value (the reader's time zone, seconds).
function localInput(d) {
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

// ---- the operator's views

function adminListPath() {
  const status = $('all-status').value;
  return '/admin/subscriptions' + (status ? '?status=' + encodeURIComponent(status) : '');
}

function allActions(sub) {
  const actions = [];
  if (sub.status === 'paused' || sub.status === 'suspended') actions.push(button('Resume', 'resume', sub.id, `Resume subscription ${sub.id}`));
  if (sub.status === 'active' || sub.status === 'suspended') actions.push(button('Pause', 'pause', sub.id, `Pause subscription ${sub.id}`));
  return actions;
}

function renderAll(items) {
  const json = JSON.stringify(items);
  if (json === state.shown.all) return;
  state.shown.all = json;
  $('all-list').replaceChildren(...items.map((s) => subscriptionItem(s, allActions(s), s.connection_id)));
  $('all-empty').hidden = items.length > 0;
}

async function loadAll() {
  const list = await call('GET', adminListPath(), { token: state.operator });
  renderAll(list.items || []);
}

async function actOnAll(action, id) {
  if (action !== 'pause' && action !== 'resume') return;
  const sub = await call('POST', '/admin/subscriptions/' + encodeURIComponent(id) + '/' + action, { token: state.operator });
  say(`Subscription ${id} is ${sub.status}.`);
  await loadAll();
  if (state.token) await loadMine();
  const again = $('all-list').querySelector(`[data-sub="${CSS.escape(id)}"] button`);
  if (again) again.focus();
}

function duration(seconds) {
  if (seconds === null) return '—';
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

function count(v) {
  return v === null ? '—' : String(Math.round(v));
}

async function loadHealth() {
  const text = await call('GET', '/metrics');
  const m = parseMetrics(String(text || ''));
  const status = (s) => count(sample(m, 'hipchat_connector_subscriptions', { status: s }));
  const tiles = [
    ['Outbox depth', count(sample(m, 'hipchat_connector_deliveries_pending')), 'outbox'],
    ['Oldest pending', duration(sample(m, 'hipchat_connector_delivery_oldest_pending_seconds')), 'oldest'],
    ['Open circuits', count(sample(m, 'hipchat_connector_callback_endpoints_open')), 'circuits'],
    ['Feeds behind', count(sample(m, 'hipchat_connector_poll_tokens_over_budget')), 'behind'],
    ['Active', status('active'), 'active'],
    ['Paused', status('paused'), 'paused'],
    ['Suspended', status('suspended'), 'suspended'],
    ['Disabled', status('disabled'), 'disabled'],
  ];
  $('health-numbers').replaceChildren(...tiles.map(([term, value, key]) =>
    el('div', { cls: 'tile', attrs: { 'data-metric': key } }, el('dt', { text: term }), el('dd', { text: value }))));

  const delivered = sample(m, 'hipchat_connector_delivery_attempts_total', { result: 'delivered' }) || 0;
  const now = Date.now();
  if (state.delivered && now > state.delivered.at) {
    const perMinute = Math.max(0, delivered - state.delivered.total) / ((now - state.delivered.at) / 60000);
    state.rates.push(perMinute);
    if (state.rates.length > sparkSamples) state.rates.shift();
  }
  state.delivered = { at: now, total: delivered };
  drawSparkline($('sparkline'), state.rates);
}

// ---- refreshing what is open

async function refresh() {
  if (document.hidden) return;
  try {
    const jobs = [];
    if (state.token) jobs.push(loadMine().catch((e) => onAuthError(e, 'token')), loadDeliveries());
    if (state.operator) jobs.push(loadAll().catch((e) => onAuthError(e, 'operator')), loadHealth());
    await Promise.all(jobs);
  } catch (e) {
    showError(e);
  }
}

// ---- wiring

function wire() {
  $('token-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const token = $('token-input').value.trim();
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
    busy(ev.target, loadAll);
  });
  $('all-status').addEventListener('change', () => busy($('all-filter'), loadAll));
  $('all-list').addEventListener('click', (ev) => {
    const b = ev.target.closest('button[data-action]');
    if (b) busy(b, () => actOnAll(b.dataset.action, b.dataset.id));
  });
  $('health-refresh').addEventListener('click', (ev) => busy(ev.target, loadHealth));
}

async function start() {
  wire();
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
