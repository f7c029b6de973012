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
 * drawSparkline draws values (oldest first) into svg (viewBox 300×48) as a line over an area, the
 * highest value at the top; fewer than two values draw a flat baseline.
 */
export function drawSparkline(svg, values) {
  const width = 300;
  const height = 48;
  const pad = 3;
  const max = Math.max(1, ...values);
  const n = values.length;
  const points = values.map((v, i) => {
    const x = n < 2 ? 0 : (i / (n - 1)) * width;
    const y = height - pad - (v / max) * (height - 2 * pad);
    return `${x.toFixed(1)},${y.toFixed(1)}`;
  });
  if (n < 2) points.splice(0, points.length, `0,${height - pad}`, `${width},${height - pad}`);
  const area = document.createElementNS(svgNS, 'polygon');
  area.setAttribute('points', `0,${height} ${points.join(' ')} ${width},${height}`);
  area.setAttribute('class', 'spark-area');
  const line = document.createElementNS(svgNS, 'polyline');
  line.setAttribute('points', points.join(' '));
  line.setAttribute('class', 'spark-line');
  const title = document.createElementNS(svgNS, 'title');
  title.textContent = n ? `latest ${values[n - 1].toFixed(1)} per minute, highest ${max.toFixed(1)}` : 'no samples yet';
  svg.replaceChildren(title, area, line);
}
