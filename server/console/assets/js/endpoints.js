// endpoints.js: what a subscription's callback endpoint (its callback URL) says about it. The
// endpoint's circuit and last error are shared by every subscription that delivers there, so the
// console says so, and says whose delivery failed, rather than show one subscription's error on its
// healthy neighbours as if it were theirs.

import { when } from '../shared/render.js';

const sameInstantMs = 1000; // a subscription's last failure and the endpoint's: one attempt

function failedAt(sub) {
  const at = sub.health && sub.health.last_failure_at ? Date.parse(sub.health.last_failure_at) : NaN;
  return Number.isNaN(at) ? null : at;
}

/**
 * endpointNotes reads subs (the subscriptions on view) and returns, per subscription id,
 * {sharedBy, error}: how many of subs deliver to its endpoint, and a sentence about the endpoint's
 * last error when it has one, naming whose delivery failed (describe(sub) names a subscription).
 */
export function endpointNotes(subs, describe) {
  const byKey = new Map();
  for (const s of subs) {
    const key = s.endpoint && s.endpoint.key;
    if (!key) continue;
    if (!byKey.has(key)) byKey.set(key, []);
    byKey.get(key).push(s);
  }
  const notes = new Map();
  for (const s of subs) {
    const ep = s.endpoint || {};
    const neighbours = byKey.get(ep.key) || [s];
    notes.set(s.id, { sharedBy: neighbours.length, error: ep.last_error ? errorNote(s, ep, neighbours, describe) : '' });
  }
  return notes;
}

function errorNote(sub, ep, neighbours, describe) {
  const at = Date.parse(ep.last_failure_at);
  const failed = neighbours.filter((n) => {
    const own = failedAt(n);
    return own !== null && !Number.isNaN(at) && Math.abs(own - at) < sameInstantMs;
  });
  const culprits = failed.length > 0 ? failed : neighbours.filter((n) => n.health && n.health.consecutive_failures > 0);
  let whose;
  if (culprits.some((c) => c.id === sub.id)) {
    whose = 'a delivery of this subscription';
  } else if (culprits.length > 0) {
    whose = 'a delivery of ' + culprits.map((c) => `${describe(c)} (${c.id.slice(0, 8)})`).join(', ');
  } else {
    whose = 'a delivery of a subscription not shown here';
  }
  let text = `${ep.last_error} at ${when(ep.last_failure_at)}: ${whose}`;
  if (!culprits.some((c) => c.id === sub.id) && !(sub.health && sub.health.consecutive_failures > 0)) {
    text += '; this subscription\u2019s own deliveries did not fail';
  }
  const answered = ep.last_success_at ? Date.parse(ep.last_success_at) : NaN;
  if (ep.state !== 'open' && !Number.isNaN(answered) && answered > at) text += `. The endpoint has answered since (${when(ep.last_success_at)}).`;
  return text;
}
