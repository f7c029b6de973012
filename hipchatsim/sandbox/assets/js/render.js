// render.js: builds the sandbox's DOM from API answers, with shared/render.js. Everything from the
// emulator goes in as text (textContent), never as HTML, so a message cannot inject markup; html
// notifications show their source.

import { el, time } from '../shared/render.js';

const colors = new Set(['yellow', 'green', 'red', 'purple', 'gray']);

function sender(item) {
  if (item.from && typeof item.from === 'object') return item.from.name || '@' + item.from.mention_name;
  return item.from || '(no label)';
}

/** historyItem renders one item of …/history/latest. */
export function historyItem(item) {
  const li = el('li', { cls: item.type || 'message', attrs: { 'data-id': item.id } });
  if (item.type === 'notification' && colors.has(item.color)) li.classList.add('color-' + item.color);
  li.append(el('div', { cls: 'meta' }, el('span', { cls: 'from', text: sender(item) }),
    el('span', { cls: 'kind', text: item.type }), time(item.date)));
  if (item.message === null) {
    li.append(el('p', { cls: 'text deleted', text: '(deleted)' }));
    return li;
  }
  if (item.message) li.append(el('p', { cls: 'text', text: item.message }));
  if (item.file) {
    const link = el('a', { text: item.file.name, attrs: { href: item.file.url, rel: 'noopener' } });
    const file = el('p', { cls: 'file' }, 'File: ', link, ` (${item.file.size} bytes)`);
    if (item.file.thumb_url) file.append(el('img', { cls: 'thumb', attrs: { src: item.file.thumb_url, alt: item.file.name } }));
    li.append(file);
  }
  return li;
}

const lozenges = new Set(['default', 'success', 'error', 'current', 'new', 'complete', 'moved']);

/**
 * glanceItem renders one entry of GET /_sim/room/{room}/glances: the label (as text: an html label
 * shows its source), the status as a lozenge or the icon's address, and who pushed it for whom.
 */
export function glanceItem(g) {
  const content = g.content || {};
  const li = el('li', { attrs: { 'data-key': g.key } });
  li.append(el('span', { cls: 'label', text: (content.label && content.label.value) || '(no label)' }));
  const status = content.status;
  if (status && status.type === 'lozenge' && status.value) {
    const type = lozenges.has(status.value.type) ? status.value.type : 'default';
    li.append(el('span', { cls: 'lozenge ' + type, text: status.value.label || type }));
  } else if (status && status.type === 'icon' && status.value) {
    li.append(el('span', { cls: 'icon', text: 'icon ' + status.value.url }));
  }
  const addon = (g.addon && g.addon.name) || 'an add-on';
  let scope = 'this room';
  if (g.scope === 'group') scope = 'every room';
  if (g.scope === 'user_in_room') scope = 'only ' + ((g.user && g.user.name) || 'one user') + ' here';
  li.append(el('span', { cls: 'meta' }, `${g.key} · ${addon} · for ${scope} · `, time(g.updated)));
  return li;
}

/** chips fills list with one chip per user stub ({name, mention_name}). */
export function chips(list, users, empty) {
  list.replaceChildren(...users.map((u) => el('li', { text: `${u.name} @${u.mention_name}` })));
  if (users.length === 0) list.append(el('li', { text: empty }));
}

/**
 * breakable shows text (a URL) as text that may wrap only after a /, ? or &, never inside a word or
 * a token, with <wbr> where it may.
 */
export function breakable(text, cls = 'mono') {
  const span = el('span', { cls });
  for (const part of String(text).split(/(?<=[/?&])/)) span.append(part, el('wbr'));
  return span;
}

function userName(u) {
  if (!u || typeof u !== 'object') return '—';
  return u.mention_name ? `${u.name} (@${u.mention_name})` : u.name || `user ${u.id}`;
}

function dash(v) {
  return v === undefined || v === null || v === '' ? '—' : String(v);
}

function grid(head, rows, caption) {
  const table = el('table', { cls: 'grid' });
  if (caption) table.append(el('caption', { cls: 'muted', text: caption }));
  table.append(el('thead', {}, el('tr', {}, ...head.map((h) => el('th', { text: h, attrs: { scope: 'col' } })))),
    el('tbody', {}, ...rows));
  return table;
}

/**
 * webhookTable renders the room's webhooks (GET /v2/room/{room}/webhook items) with a column per
 * field a designer checks, each value as words: who created it by name, the URL whole.
 */
export function webhookTable(items, empty) {
  if (!items || items.length === 0) return el('p', { cls: 'muted', text: empty });
  const rows = items.map((h) => el('tr', { attrs: { 'data-webhook': String(h.id) } },
    el('td', { text: dash(h.id) }), el('td', { text: dash(h.name) }), el('td', { cls: 'nowrap', text: dash(h.event) }),
    el('td', {}, h.pattern ? el('code', { text: h.pattern }) : '—'), el('td', { text: dash(h.authentication) }),
    el('td', {}, breakable(h.url)), el('td', { text: userName(h.creator) })));
  return grid(['Id', 'Name', 'Event', 'Pattern', 'Authentication', 'URL', 'Created by'], rows);
}

function callStatus(c) {
  if (c.dropped) return el('span', { cls: 'call-status call-dropped', text: 'dropped' });
  if (!c.status) return el('span', { cls: 'call-status call-failed', text: 'no answer' });
  const ok = c.status >= 200 && c.status < 300;
  return el('span', { cls: 'call-status ' + (ok ? 'call-ok' : 'call-failed'), text: String(c.status) });
}

/**
 * callsTable renders calls of GET /_sim/webhooks, newest first: when, event, which webhook (by name
 * when hookNames knows it), where, the answer, how long it took and why it failed.
 */
export function callsTable(calls, hookNames, caption) {
  const rows = [...calls].reverse().map((c) => el('tr', { attrs: { 'data-seq': String(c.seq) } },
    el('td', {}, time(c.at)), el('td', { cls: 'nowrap', text: dash(c.event) }),
    el('td', { text: hookNames.get(c.webhook_id) ? `${hookNames.get(c.webhook_id)} (${c.webhook_id})` : dash(c.webhook_id) }),
    el('td', {}, breakable(c.url)), el('td', {}, callStatus(c)),
    el('td', { cls: 'nowrap', text: c.dropped ? '—' : `${Number(c.latency_ms).toFixed(1)} ms` }),
    el('td', { text: c.error || '' })));
  return grid(['When', 'Event', 'Webhook', 'URL', 'Answer', 'Latency', 'Error'], rows, caption);
}
