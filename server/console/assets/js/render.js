// render.js: builds the console's DOM from the connector's answers, with shared/render.js.
// Everything from the server goes in as text (textContent or attributes), never as HTML, so a
// callback URL or an error cannot inject markup.

import { el, localTimes, time } from '../shared/render.js';

/** badge shows a status (active, paused, open, delivered, dead, …) with a class of its own. */
export function badge(text) {
  return el('span', { cls: 'badge badge-' + String(text).replace(/[^a-z_]/g, ''), text });
}

/** facts makes a <dl> of [term, value] pairs; a value is text or a node. */
export function facts(pairs) {
  const dl = el('dl', { cls: 'facts' });
  for (const [term, value] of pairs) {
    dl.append(el('dt', { text: term }), value instanceof Node ? el('dd', {}, value) : el('dd', { text: value }));
  }
  return dl;
}

/** button makes a real button with its action and the subscription or delivery it acts on. */
export function button(text, action, id, label) {
  return el('button', { text, attrs: { type: 'button', 'data-action': action, 'data-id': id, 'aria-label': label || text } });
}

/** heading is what a subscription watches ("messages of Ops"), where ("room 1"), status and id. */
function heading(sub, label) {
  const head = el('div', { cls: 'sub-head' }, el('strong', { text: label.what }));
  if (label.where) head.append(el('span', { cls: 'muted', text: label.where }));
  head.append(badge(sub.status), el('span', { cls: 'mono muted', text: sub.id }));
  return head;
}

/**
 * subscriptionItem renders one subscription: what it watches (label: {what, where} from
 * RoomNames.describe), where it delivers, status and ordering, the endpoint's circuit and whether
 * other subscriptions share it (note: {sharedBy, error} from endpointNotes), delivery health, poll
 * and push, and its buttons (actions).
 */
export function subscriptionItem(sub, actions, label, note = { sharedBy: 1, error: '' }) {
  const li = el('li', { cls: 'sub', attrs: { 'data-sub': sub.id } });
  li.append(heading(sub, label));
  if (sub.status_reason) li.append(el('p', { cls: 'reason', text: localTimes(sub.status_reason) }));
  const ep = sub.endpoint || {};
  const health = sub.health || {};
  const shared = note.sharedBy > 1 ? ` · shared by ${note.sharedBy} of these subscriptions` : '';
  const pairs = [
    ['Callback', el('span', { cls: 'mono', text: sub.callback_url })],
    ['Ordering', sub.ordering + (sub.max_per_second ? `, at most ${sub.max_per_second}/s` : '')],
    ['Endpoint', ep.state ? el('span', { cls: 'endpoint' }, badge(ep.state), ` ${ep.key || ''}${shared}`) : '—'],
    ['Last delivered', time(health.last_delivered_at)],
    ['Failures in a row', String(health.consecutive_failures || 0)],
    ['Dead-lettered', String(health.dead_lettered || 0)],
  ];
  if (health.last_failure) pairs.push(['Last failure', el('span', {}, `${health.last_failure} at `, time(health.last_failure_at))]);
  if (ep.state === 'open') pairs.push(['Next probe', time(ep.next_probe_at)]);
  if (note.error) pairs.push(['Endpoint\u2019s last error', el('span', { cls: 'endpoint-error' }, note.error)]);
  if (sub.poll) {
    pairs.push(['Poll', `${sub.poll.feeds} feeds, ${sub.poll.reads_per_tick} reads a tick` +
      (sub.poll.over_budget ? `, behind: about ${Math.round(sub.poll.expected_lag_seconds)} s lag` : '')]);
  }
  if (sub.push) pairs.push(['Push', sub.push.state + (sub.push.reason ? ` (${sub.push.reason})` : '')]);
  if (sub.previous_secret_expires_at) pairs.push(['Old secret signs until', time(sub.previous_secret_expires_at)]);
  li.append(facts(pairs));
  li.append(el('div', { cls: 'actions' }, ...actions));
  return li;
}

/**
 * operatorRow renders one subscription of the operator's list as a table row: what it watches
 * (label), its connection, status and why, its endpoint's circuit, delivery health and its buttons;
 * yours marks one the signed-in token's list shows in full above.
 */
export function operatorRow(sub, actions, label, yours) {
  const ep = sub.endpoint || {};
  const health = sub.health || {};
  const what = el('td', {}, el('strong', { text: label.what }));
  if (label.where) what.append(' ', el('span', { cls: 'muted', text: label.where }));
  what.append(el('br'), el('span', { cls: 'mono muted', text: sub.id }));
  if (yours) what.append(' ', el('span', { cls: 'badge badge-yours', text: 'yours, above' }));
  const status = el('td', {}, badge(sub.status));
  if (sub.status_reason) status.append(el('span', { cls: 'reason', text: ' ' + localTimes(sub.status_reason) }));
  const endpoint = el('td', {}, ep.state ? badge(ep.state) : '', el('span', { cls: 'mono', text: ' ' + (ep.key || sub.callback_url) }));
  if (ep.state === 'open') endpoint.append(el('br'), 'next probe ', time(ep.next_probe_at));
  const healthCell = el('td', {}, `${health.consecutive_failures || 0} failures in a row, ${health.dead_lettered || 0} dead`,
    el('br'), 'last delivered ', time(health.last_delivered_at));
  return el('tr', { cls: 'sub', attrs: { 'data-sub': sub.id } }, what,
    el('td', { cls: 'mono', text: sub.connection_id }), status, endpoint, healthCell, el('td', { cls: 'actions' }, ...actions));
}

function payloadOf(dl, open) {
  const compact = JSON.stringify(dl.payload);
  const bytes = new TextEncoder().encode(compact).length;
  const details = el('details', { cls: 'payload', attrs: { 'data-delivery': dl.id } },
    el('summary', { text: `Payload (${bytes} bytes)` }), el('pre', { cls: 'mono', text: JSON.stringify(dl.payload, null, 2) }));
  details.open = open;
  return details;
}

/**
 * deliveryItem renders one delivery with every attempt, its payload folded (unfolded when
 * payloadOpen), and a resend button unless it is pending.
 */
export function deliveryItem(dl, payloadOpen = false) {
  const li = el('li', { cls: 'delivery', attrs: { 'data-delivery': dl.id, 'data-status': dl.status } });
  const head = el('div', { cls: 'sub-head' }, el('strong', { text: dl.type }), badge(dl.status),
    el('span', { cls: 'mono muted', text: dl.id }));
  li.append(head);
  const pairs = [['Created', time(dl.created_at)]];
  if (dl.next_attempt_at) pairs.push(['Next attempt', time(dl.next_attempt_at)]);
  if (dl.delivered_at) pairs.push(['Delivered', time(dl.delivered_at)]);
  if (dl.catch_up_note) pairs.push(['Note', dl.catch_up_note]);
  li.append(facts(pairs));
  if (dl.payload !== undefined && dl.payload !== null) li.append(payloadOf(dl, payloadOpen));
  const attempts = dl.attempts || [];
  if (attempts.length === 0) {
    li.append(el('p', { cls: 'muted', text: 'No attempt yet.' }));
  } else {
    const head = el('tr', {}, ...['#', 'At', 'Status', 'Latency', 'Error'].map((h) => el('th', { text: h, attrs: { scope: 'col' } })));
    const rows = attempts.map((a, i) => el('tr', { cls: 'attempt' },
      el('td', { text: String(i + 1) }), el('td', {}, time(a.at)),
      el('td', { text: a.status_code ? String(a.status_code) : '—' }),
      el('td', { text: `${a.duration_ms} ms` }), el('td', { text: a.error || '' })));
    li.append(el('div', { cls: 'table-wrap' },
      el('table', {}, el('caption', { cls: 'muted', text: `${attempts.length} attempt${attempts.length === 1 ? '' : 's'}` }),
        el('thead', {}, head), el('tbody', {}, ...rows))));
  }
  if (dl.status !== 'pending') {
    li.append(el('div', { cls: 'actions' }, button('Resend', 'resend', dl.id, `Resend delivery ${dl.id}`)));
  }
  return li;
}
