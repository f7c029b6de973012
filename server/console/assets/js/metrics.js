// metrics.js: the instance's health from /metrics (Prometheus text format) and a sparkline of a
// rate, drawn as SVG without a library.

/**
 * parseMetrics reads Prometheus text into a Map from metric name to its samples, [{labels, value}].
 * Comments, and lines it cannot read, are skipped.
 */
export function parseMetrics(text) {
  const out = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    if (m[3]) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
      let l;
      while ((l = re.exec(m[3])) !== null) labels[l[1]] = l[2].replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
    }
    const value = Number(m[4]); // NaN, +Inf and -Inf parse too
    if (!out.has(m[1])) out.set(m[1], []);
    out.get(m[1]).push({ labels, value });
  }
  return out;
}

/**
 * sample returns the value of name whose labels include want, or the sum of all of name's samples
 * when want is omitted; null when there is no such series.
 */
export function sample(metrics, name, want) {
  const samples = metrics.get(name);
  if (!samples) return null;
  if (!want) return samples.reduce((sum, s) => sum + s.value, 0);
  const hit = samples.find((s) => Object.entries(want).every(([k, v]) => s.labels[k] === v));
  return hit ? hit.value : null;
}

const svgNS = 'http://www.w3.org/2000/svg';

/**
 * niceMax is the top of a scale that holds value: 1, 2 or 5 times a power of ten, at least 1, so
 * that the axis reads as a round number.
 */
export function niceMax(value) {
  if (!(value > 1)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) {
    if (value <= step * power) return step * power;
  }
  return 10 * power;
}

/**
 * drawSparkline draws values (oldest first) into svg (viewBox 300×48) as a line over an area on a
 * scale from 0 to max (niceMax of the highest value when omitted), with a faint line at half of it;
 * fewer than two values draw a flat baseline. It returns the max it used.
 */
export function drawSparkline(svg, values, max = niceMax(Math.max(0, ...values))) {
  const width = 300;
  const height = 48;
  const pad = 2;
  const n = values.length;
  const y = (v) => (height - pad - (Math.min(v, max) / max) * (height - 2 * pad)).toFixed(1);
  const points = values.map((v, i) => `${(n < 2 ? 0 : (i / (n - 1)) * width).toFixed(1)},${y(v)}`);
  if (n < 2) points.splice(0, points.length, `0,${y(0)}`, `${width},${y(0)}`);
  const grid = document.createElementNS(svgNS, 'line');
  for (const [k, v] of Object.entries({ x1: 0, x2: width, y1: y(max / 2), y2: y(max / 2), class: 'spark-grid' })) grid.setAttribute(k, v);
  const area = document.createElementNS(svgNS, 'polygon');
  area.setAttribute('points', `0,${height} ${points.join(' ')} ${width},${height}`);
  area.setAttribute('class', 'spark-area');
  const line = document.createElementNS(svgNS, 'polyline');
  line.setAttribute('points', points.join(' '));
  line.setAttribute('class', 'spark-line');
  svg.replaceChildren(grid, area, line);
  return max;
}
