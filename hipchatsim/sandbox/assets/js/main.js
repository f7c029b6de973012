// main.js: the sandbox page. Sign in with a token, pick or create a room, watch its history (short
// polling of …/history/latest, paced by the token's rate limit) and the add-on glances pushed to
// it, post messages, notifications and files as any user, and see the room's webhooks and the
// emulator's record of their calls.

import { $, busy, clearError, say, showError } from '../shared/page.js';
import { clock, el } from '../shared/render.js';
import { call, rateLimitOf, roomPath, shareFileBody } from './api.js';
import { callsTable, chips, glanceItem, historyItem, webhookTable } from './render.js';
import { setSignedIn, setUserToken, signOut, signedIn, userTokens, withUserToken } from './tokens.js';

const roomKey = 'hipchat-sandbox.room';
const minPollMs = 2000; // how often history is checked when the rate limit allows
const reserveCalls = 10; // calls of the window polling leaves for what the designer does
const callsPerPage = 20; // recent webhook calls a page shows

const state = {
  me: null, // the signed-in token's user ({id, name, mention_name}), null for add-on and room tokens
  users: [],
  rooms: [],
  room: null,
  historyKey: null, // ids of the items shown; null: nothing rendered yet
  pollTimer: 0,
  pollRun: 0, // increases with every poll, so a late answer of an older one is dropped
  noWebhookCalls: false, // /_sim/webhooks answered 404: this emulator does not record calls
  noGlances: false, // /_sim/room/…/glances answered 404: this emulator does not keep glances
  hookNames: new Map(), // the room's webhook ids → their names, for the calls
  calls: { befores: [''], page: 0, shown: '' }, // befores[i]: the seq page i of recent calls starts below ('' : newest)
};

// ---- signing in and out

async function signInWith(token) {
  const session = await call('GET', '/v2/oauth/token/' + encodeURIComponent(token), { token });
  setSignedIn(token);
  state.me = session.owner || null;
  const who = state.me ? `${state.me.name} (@${state.me.mention_name})` : (session.client && session.client.name) || 'a token';
  $('whoami-name').textContent = who;
  $('whoami').hidden = false;
  $('sign-in').hidden = true;
  $('app').hidden = false;
  say('Signed in. Scopes: ' + (session.scopes || []).join(', '));
  await Promise.all([loadUsers(), loadRooms()]);
  const saved = sessionStorage.getItem(roomKey);
  const room = state.rooms.find((r) => String(r.id) === saved);
  if (room) selectRoom(room);
}

function showSignIn(message) {
  clearTimeout(state.pollTimer);
  state.pollRun++;
  Object.assign(state, { me: null, users: [], rooms: [], room: null, historyKey: null });
  $('app').hidden = true;
  $('room').hidden = true;
  $('no-room').hidden = false;
  $('whoami').hidden = true;
  $('sign-in').hidden = false;
  say(message || '');
  $('sign-in-token').focus();
}

$('sign-in-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const input = $('sign-in-token');
  const token = input.value.trim();
  busy(ev.target, async () => {
    await signInWith(token);
    input.value = '';
  });
});

$('sign-out').addEventListener('click', async () => {
  await signOut();
  sessionStorage.removeItem(roomKey);
  showSignIn('Signed out; the tokens this page minted were revoked.');
});

// ---- users and their tokens

function userByID(id) {
  return state.users.find((u) => String(u.id) === String(id)) || null;
}

async function loadUsers() {
  try {
    const answer = await call('GET', '/v2/user', { token: signedIn() });
    state.users = answer.items || [];
  } catch (e) {
    state.users = [];
    showError(new Error('Users: ' + e.message));
  }
  renderUsers();
}

function renderUsers() {
  const kept = userTokens();
  $('users').replaceChildren(...state.users.map((u) => {
    let note = '';
    if (state.me && state.me.id === u.id) note = 'signed in';
    else if (kept[u.id]) note = 'token ' + kept[u.id].how;
    return el('li', {}, el('span', { text: `${u.name} @${u.mention_name}` }), el('span', { cls: 'token-state', text: note }));
  }));
  const meLabel = state.me ? `${state.me.name} (signed-in token)` : 'the signed-in token';
  for (const select of document.querySelectorAll('select.post-as')) {
    const chosen = select.value;
    select.replaceChildren(el('option', { text: meLabel, attrs: { value: '' } }),
      ...state.users.filter((u) => !state.me || u.id !== state.me.id)
        .map((u) => el('option', { text: `${u.name} @${u.mention_name}`, attrs: { value: String(u.id) } })));
    if ([...select.options].some((o) => o.value === chosen)) select.value = chosen;
  }
  $('user-token-user').replaceChildren(...state.users.map((u) =>
    el('option', { text: `${u.name} @${u.mention_name}`, attrs: { value: String(u.id) } })));
}

$('user-token-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const user = userByID($('user-token-user').value);
  const input = $('user-token-value');
  if (!user) return;
  setUserToken(user.id, input.value.trim(), 'pasted');
  input.value = '';
  renderUsers();
  say(`Kept a token for ${user.name}.`);
});

// ---- rooms

async function loadRooms() {
  const answer = await call('GET', '/v2/room', { token: signedIn() });
  state.rooms = answer.items || [];
  renderRooms();
}

function renderRooms() {
  const filter = $('rooms-filter').value.trim().toLowerCase();
  const shown = filter ? state.rooms.filter((r) => r.name.toLowerCase().includes(filter)) : state.rooms;
  $('rooms-count').textContent = filter ? `${shown.length} of ${state.rooms.length} rooms` : `${state.rooms.length} room${state.rooms.length === 1 ? '' : 's'}`;
  $('rooms').replaceChildren(...shown.map((r) => {
    const button = el('button', { cls: 'link', attrs: { type: 'button', 'data-room': String(r.id) } },
      r.name + ' ', el('span', { cls: 'privacy', text: r.privacy }));
    button.setAttribute('aria-current', String(state.room !== null && state.room.id === r.id));
    button.addEventListener('click', () => selectRoom(r));
    return el('li', {}, button);
  }));
  $('rooms-empty').hidden = state.rooms.length > 0;
}

$('rooms-filter').addEventListener('input', renderRooms);

function selectRoom(room) {
  state.room = room;
  state.historyKey = null;
  sessionStorage.setItem(roomKey, String(room.id));
  renderRooms();
  $('no-room').hidden = true;
  $('room').hidden = false;
  $('room-title').textContent = room.name;
  $('room-meta').textContent = `Room ${room.id} · ${room.privacy}` + (room.is_archived ? ' · archived' : '');
  $('history').replaceChildren();
  $('history-empty').hidden = true;
  $('glances').replaceChildren();
  state.calls = { befores: [''], page: 0, shown: '' };
  state.hookNames = new Map();
  $('webhook-calls').replaceChildren();
  clearError();
  loadPeople(room);
  loadWebhooks(room);
  schedulePoll(0);
}

async function loadPeople(room) {
  $('members-box').hidden = room.privacy !== 'private';
  const load = async (kind, list) => {
    try {
      const answer = await call('GET', roomPath(room.id, '/' + kind), { token: signedIn() });
      if (state.room === room) chips(list, answer.items || [], 'nobody yet');
    } catch (e) {
      if (state.room === room) list.replaceChildren(el('li', { text: e.message }));
    }
  };
  const work = [load('participant', $('participants'))];
  if (room.privacy === 'private') work.push(load('member', $('members')));
  await Promise.all(work);
}

$('create-room-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const name = $('room-name').value.trim();
  busy(ev.target, async () => {
    const created = await call('POST', '/v2/room', { token: signedIn(), json: { name, privacy: $('room-privacy').value } });
    $('room-name').value = '';
    await loadRooms();
    const room = state.rooms.find((r) => r.id === created.id);
    if (room) selectRoom(room);
    say(`Created room ${name}.`);
  });
});

// ---- history, polled

function schedulePoll(delay) {
  clearTimeout(state.pollTimer);
  state.pollTimer = setTimeout(poll, delay);
}

// nextPoll paces polling so that it leaves reserveCalls of the token's window for the designer.
function nextPoll() {
  const limit = rateLimitOf(signedIn());
  if (!limit) return { delay: minPollMs, note: `Live: checked every ${minPollMs / 1000} s.` };
  const left = limit.resetMs - Date.now();
  if (limit.remaining <= reserveCalls) {
    const at = clock(new Date(limit.resetMs));
    return { delay: Math.max(minPollMs, left + 500), note: `Paused to spare the rate limit (${limit.remaining} of ${limit.limit} calls left); next check at ${at}.` };
  }
  const delay = Math.max(minPollMs, Math.ceil(left / (limit.remaining - reserveCalls)));
  return { delay, note: `Live: checked every ${Math.round(delay / 100) / 10} s; ${limit.remaining} of ${limit.limit} calls left in this token's window.` };
}

async function poll() {
  const room = state.room;
  if (!room || document.hidden || !signedIn()) return;
  const run = ++state.pollRun;
  let next;
  try {
    const answer = await call('GET', roomPath(room.id, '/history/latest?max-results=50'), { token: signedIn() });
    if (run !== state.pollRun) return;
    renderHistory(answer.items || []);
    next = nextPoll();
  } catch (e) {
    if (run !== state.pollRun) return;
    if (e.status === 401) {
      await signOut();
      showSignIn('The emulator no longer accepts this token (was it restarted?). Sign in again.');
      return;
    }
    const limit = rateLimitOf(signedIn());
    const delay = e.status === 429 && limit ? Math.max(minPollMs, limit.resetMs - Date.now() + 500) : 5000;
    next = { delay, note: `History: ${e.message}; trying again in ${Math.round(delay / 1000)} s.` };
  }
  $('poll-status').textContent = next.note;
  await Promise.all([state.calls.page === 0 ? loadWebhookCalls(room) : null, loadGlances(room)]);
  if (run === state.pollRun) schedulePoll(next.delay);
}

function renderHistory(items) {
  const key = items.map((i) => i.id + (i.message === null ? '-' : '')).join(',');
  if (key === state.historyKey) return;
  const list = $('history');
  const atBottom = state.historyKey === null || list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  state.historyKey = key;
  list.replaceChildren(...items.map(historyItem));
  $('history-empty').hidden = items.length > 0;
  if (atBottom) list.scrollTop = list.scrollHeight;
}

document.addEventListener('visibilitychange', () => {
  if (!document.hidden && state.room) schedulePoll(0);
});

// ---- posting

function chosenUser(select) {
  return select.value === '' ? null : userByID(select.value);
}

function noteTokens() {
  renderUsers();
  schedulePoll(0); // show what was just sent without waiting for the next check
}

document.querySelectorAll('#post-form input[name=kind]').forEach((radio) => {
  radio.addEventListener('change', () => {
    $('notification-fields').hidden = $('post-form').elements.kind.value !== 'notification';
  });
});

$('post-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const form = ev.target;
  const room = state.room;
  const user = chosenUser($('post-as'));
  const text = $('post-text').value;
  const kind = form.elements.kind.value;
  busy(form, async () => {
    await withUserToken(user, state.me, (token) => {
      if (kind === 'notification') {
        const body = { message: text, message_format: 'text', color: $('post-color').value, notify: false };
        const from = $('post-from').value.trim();
        if (from) body.from = from;
        return call('POST', roomPath(room.id, '/notification'), { token, json: body });
      }
      return call('POST', roomPath(room.id, '/message'), { token, json: { message: text } });
    });
    $('post-text').value = '';
    say(`Sent a ${kind} to ${room.name}` + (user ? ` as ${user.name}.` : '.'));
    noteTokens();
    loadPeople(room);
  });
});

$('share-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const room = state.room;
  const user = chosenUser($('share-as'));
  const file = $('share-file').files[0];
  const message = $('share-message').value;
  if (!file) return;
  busy(ev.target, async () => {
    await withUserToken(user, state.me, (token) => {
      const { body, contentType } = shareFileBody(file, message);
      return call('POST', roomPath(room.id, '/share/file'), { token, body, contentType });
    });
    ev.target.reset();
    say(`Shared ${file.name} in ${room.name}` + (user ? ` as ${user.name}.` : '.'));
    noteTokens();
    loadPeople(room);
  });
});

// ---- glances

const noGlanceYet = 'No add-on has pushed a glance here yet.';

// loadGlances shows GET /_sim/room/{room}/glances, the add-on glances that apply to the room. An
// emulator without that endpoint (404) is said so once, and not asked again.
async function loadGlances(room) {
  if (state.noGlances) return;
  try {
    const answer = await call('GET', '/_sim/room/' + encodeURIComponent(String(room.id)) + '/glances');
    if (state.room !== room) return;
    const glances = (answer && answer.glances) || [];
    $('glances').replaceChildren(...glances.map(glanceItem));
    $('glances-empty').textContent = noGlanceYet;
    $('glances-empty').hidden = glances.length > 0;
  } catch (e) {
    if (state.room !== room) return;
    if (e.status === 404) state.noGlances = true;
    $('glances').replaceChildren();
    $('glances-empty').hidden = false;
    $('glances-empty').textContent = e.status === 404 ? 'This emulator keeps no glances.' : 'Glances: ' + e.message;
  }
}

// ---- webhooks

async function loadWebhooks(room) {
  try {
    const answer = await call('GET', roomPath(room.id, '/webhook'), { token: signedIn() });
    const items = answer.items || [];
    if (state.room !== room) return;
    state.hookNames = new Map(items.map((h) => [h.id, h.name || h.event]));
    $('webhooks').replaceChildren(webhookTable(items, 'No webhooks registered on this room.'));
  } catch (e) {
    if (state.room === room) $('webhooks').replaceChildren(el('p', { cls: 'muted', text: 'Webhooks: ' + e.message }));
  }
}

// loadWebhookCalls shows a page of GET /_sim/webhooks for the room, newest first: the first page
// follows new calls as history is polled; older pages stay as read until Refresh. An emulator
// without that endpoint (404) is said so once, and not asked again until Refresh.
async function loadWebhookCalls(room) {
  if (state.noWebhookCalls || !room) return;
  const box = $('webhook-calls');
  const pages = state.calls;
  const page = pages.page;
  const query = new URLSearchParams({ room_id: String(room.id), limit: String(callsPerPage) });
  if (pages.befores[page]) query.set('before', pages.befores[page]);
  try {
    const answer = await call('GET', '/_sim/webhooks?' + query);
    if (state.room !== room || state.calls !== pages || pages.page !== page) return; // another page was asked for meanwhile
    const calls = (answer && answer.calls) || [];
    pages.befores.length = pages.page + 1;
    if (answer.more && calls.length > 0) pages.befores.push(String(calls[0].seq));
    const first = pages.page * callsPerPage + 1;
    $('calls-page').textContent = calls.length === 0 ? '' : `calls ${first}–${first + calls.length - 1}, newest first`;
    callsPagerButtons();
    const json = JSON.stringify([calls, [...state.hookNames]]);
    if (json === pages.shown) return;
    pages.shown = json;
    box.replaceChildren(calls.length === 0 ? el('p', { cls: 'muted', text: 'No webhook calls recorded yet.' })
      : callsTable(calls, state.hookNames, `The emulator remembers its last ${answer.remembered || 512} calls.`));
  } catch (e) {
    if (e.status === 404) {
      state.noWebhookCalls = true;
      box.replaceChildren(el('p', { cls: 'muted', text: 'No webhook calls recorded (this emulator has no /_sim/webhooks).' }));
    } else {
      box.replaceChildren(el('p', { cls: 'muted', text: 'Webhook calls: ' + e.message }));
    }
  }
}

$('webhooks-refresh').addEventListener('click', () => {
  if (!state.room) return;
  state.noWebhookCalls = false;
  state.calls.shown = '';
  loadWebhooks(state.room);
  loadWebhookCalls(state.room);
});

// callsPagerButtons enables Newer and Older where there is a page of calls to go to.
function callsPagerButtons() {
  $('calls-newer').disabled = state.calls.page === 0;
  $('calls-older').disabled = state.calls.befores.length <= state.calls.page + 1;
}

// busy enables the button again when done: the pager then says again where one can go.
$('calls-older').addEventListener('click', (ev) => {
  if (state.calls.befores.length <= state.calls.page + 1) return;
  state.calls.page++;
  busy(ev.target, () => loadWebhookCalls(state.room)).then(callsPagerButtons);
});

$('calls-newer').addEventListener('click', (ev) => {
  if (state.calls.page === 0) return;
  state.calls.page--;
  busy(ev.target, () => loadWebhookCalls(state.room)).then(callsPagerButtons);
});

// ---- start

if (signedIn()) {
  signInWith(signedIn()).catch(async (e) => {
    if (e.status === 401) await signOut();
    showSignIn();
    showError(e);
  });
} else {
  showSignIn();
}
