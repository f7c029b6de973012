// render.js (shared): builds DOM from what a server answered. Everything goes in as text
// (textContent or attributes), never as HTML, so nothing a server says can inject markup. Times
// are shown one way on every page: "2026-12-01 17:51:58" in the reader's time zone (zoneName says
// which), with the UTC instant in the element's title.

/** el makes an element with optional class, text and attributes, and appends children. */
export function el(tag, { cls, text, attrs } = {}, ...children) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  node.append(...children);
  return node;
}

const pad = (n) => String(n).padStart(2, '0');

/** clock formats a Date as "YYYY-MM-DD HH:MM:SS" in the reader's time zone. */
export function clock(d) {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** zoneName is the reader's time zone as an offset from UTC, e.g. "UTC+01:00" (at date, default now). */
export function zoneName(date = new Date()) {
  const minutes = -date.getTimezoneOffset();
  const sign = minutes < 0 ? '−' : '+';
  const abs = Math.abs(minutes);
  return `UTC${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** when renders an RFC 3339 time as clock does, '—' when absent, the text itself when unreadable. */
export function when(date) {
  if (!date) return '—';
  const d = new Date(date);
  return Number.isNaN(d.getTime()) ? String(date) : clock(d);
}

/** time makes a <time> element for an RFC 3339 time, its UTC instant in the title. */
export function time(date) {
  const attrs = {};
  const d = date ? new Date(date) : null;
  if (d && !Number.isNaN(d.getTime())) {
    attrs.datetime = date;
    attrs.title = d.toISOString().replace('.000Z', 'Z') + ' (UTC)';
  }
  return el('time', { text: when(date), attrs });
}

// An RFC 3339 time inside a server's sentence ("paused by an operator at 2026-12-01T17:51:58Z").
const rfc3339 = /\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})/g;

/** localTimes rewrites the RFC 3339 times inside text as clock does, so a server's sentence reads like the page. */
export function localTimes(text) {
  return String(text).replace(rfc3339, (t) => when(t));
}
