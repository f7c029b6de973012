// render.js (shared): builds DOM from what a server answered. Everything goes in as text
// (textContent or attributes), never as HTML, so nothing a server says can inject markup.

/** el makes an element with optional class, text and attributes, and appends children. */
export function el(tag, { cls, text, attrs } = {}, ...children) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  node.append(...children);
  return node;
}

/** when renders an RFC 3339 time in the reader's locale, '—' when absent. */
export function when(date) {
  if (!date) return '—';
  const d = new Date(date);
  return Number.isNaN(d.getTime()) ? String(date) : d.toLocaleString();
}

/** time makes a <time> element for an RFC 3339 time. */
export function time(date) {
  return el('time', { text: when(date), attrs: date ? { datetime: date } : {} });
}
