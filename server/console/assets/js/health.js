// health.js: the operator's health numbers from /metrics as tiles that say when one needs a look,
// and a sparkline of deliveries per minute with its scale.

import { $ } from '../shared/page.js';
import { el } from '../shared/render.js';
import { call } from './api.js';
import { drawSparkline, parseMetrics, sample } from './metrics.js';

/** sampleEveryMs is how often the page samples /metrics; sparkSamples how many it keeps. */
export const sampleEveryMs = 5000;
const sparkSamples = 60; // five minutes

/** Health is what the tiles and the sparkline remember between samples. */
export class Health {
  constructor() {
    this.delivered = null; // {at, total}: the last sample of delivery_attempts_total{result="delivered"}
    this.rates = []; // deliveries per minute, oldest first
  }

  forget() {
    this.delivered = null;
    this.rates = [];
  }

  /** load reads /metrics once and draws the tiles and the sparkline. */
  async load() {
    const m = parseMetrics(String((await call('GET', '/metrics')) || ''));
    $('health-numbers').replaceChildren(...tiles(m).map(tile));
    this.addSample(sample(m, 'hipchat_connector_delivery_attempts_total', { result: 'delivered' }) || 0, Date.now());
    this.draw();
  }

  addSample(total, now) {
    if (this.delivered && now > this.delivered.at) {
      const perMinute = Math.max(0, total - this.delivered.total) / ((now - this.delivered.at) / 60000);
      this.rates.push(perMinute);
      if (this.rates.length > sparkSamples) this.rates.shift();
    }
    this.delivered = { at: now, total };
  }

  draw() {
    const rates = this.rates;
    const max = drawSparkline($('sparkline'), rates);
    $('spark-max').textContent = `${max}/min`;
    $('spark-mid').textContent = `${max / 2}/min`;
    $('spark-span').textContent = rates.length < 2 ? 'now' : `${ago((rates.length * sampleEveryMs) / 1000)} ago`;
    $('sparkline-now').textContent = rates.length === 0 ? 'No samples yet: the first rate shows after two readings.'
      : `Now ${perMinute(rates[rates.length - 1])} a minute; highest ${perMinute(Math.max(...rates))} over the last ${ago((rates.length * sampleEveryMs) / 1000)}.`;
  }
}

function perMinute(v) {
  return v >= 10 ? String(Math.round(v)) : v.toFixed(1);
}

function ago(seconds) {
  return seconds < 90 ? `${Math.round(seconds)} s` : `${Math.round(seconds / 60)} min`;
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

/**
 * tiles are the health numbers: [term, value shown, key, level, note]. Level alert (red, bold
 * border) or warn (amber) says a number needs a look, with a note in words; ok and info are calm.
 */
function tiles(m) {
  const n = (name, labels) => sample(m, name, labels);
  const status = (s) => n('hipchat_connector_subscriptions', { status: s });
  const oldest = n('hipchat_connector_delivery_oldest_pending_seconds');
  const open = n('hipchat_connector_callback_endpoints_open');
  const behind = n('hipchat_connector_poll_tokens_over_budget');
  const some = (v) => v !== null && v > 0;
  return [
    ['Outbox depth', count(n('hipchat_connector_deliveries_pending')), 'outbox', 'info', 'deliveries waiting'],
    ['Oldest pending', duration(oldest), 'oldest', oldest > 900 ? 'alert' : oldest > 300 ? 'warn' : 'ok',
      oldest > 300 ? 'waiting long' : 'fresh'],
    ['Open circuits', count(open), 'circuits', some(open) ? 'alert' : 'ok', some(open) ? 'endpoints held' : 'all closed'],
    ['Tokens behind', count(behind), 'behind', some(behind) ? 'warn' : 'ok', some(behind) ? 'over their poll budget' : 'on schedule'],
    ['Active', count(status('active')), 'active', 'info', 'subscriptions'],
    ['Paused', count(status('paused')), 'paused', some(status('paused')) ? 'warn' : 'ok', some(status('paused')) ? 'held until resumed' : 'none'],
    ['Suspended', count(status('suspended')), 'suspended', some(status('suspended')) ? 'alert' : 'ok',
      some(status('suspended')) ? 'HipChat rejected a token' : 'none'],
    ['Disabled', count(status('disabled')), 'disabled', some(status('disabled')) ? 'warn' : 'ok', some(status('disabled')) ? 'final' : 'none'],
  ];
}

function tile([term, value, key, level, note]) {
  const mark = level === 'alert' ? '⚠ ' : level === 'warn' ? '! ' : '';
  return el('div', { cls: 'tile tile-' + level, attrs: { 'data-metric': key, 'data-level': level } },
    el('dt', { text: term }), el('dd', { text: value }), el('dd', { cls: 'tile-note', text: mark + note }));
}
