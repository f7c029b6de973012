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

function cell(value) {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/**
 * table renders items (objects of any keys) as a table with a column per key seen, in first-seen
 * order, or a paragraph saying empty when there are none.
 */
export function table(items, empty) {
  if (!items || items.length === 0) return el('p', { cls: 'muted', text: empty });
  const keys = [];
  for (const item of items) {
    for (const k of Object.keys(item || {})) if (!keys.includes(k)) keys.push(k);
  }
  const head = el('tr', {}, ...keys.map((k) => el('th', { text: k, attrs: { scope: 'col' } })));
  const rows = items.map((item) => el('tr', {}, ...keys.map((k) => el('td', { text: cell((item || {})[k]) }))));
  return el('table', {}, el('thead', {}, head), el('tbody', {}, ...rows));
}
