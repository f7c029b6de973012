// rooms.js: room names for the console's views, so that a view says "messages of Ops · room 1",
// not "messages of room 1". The connector shows HipChat's id and name of a subscription's room
// (room_id, room_name) once it resolved the room; before that (a subscription stored by an older
// connector, until its feed's first read) only what the subscriber typed (room: an id or a name),
// which the console resolves with ListRooms (GET /rooms), called with the signed-in HipChat token.

import { call } from './api.js';

const reloadAfterMs = 60000; // a room not found is looked up again at most this often

/** RoomNames maps the signed-in token's rooms by id and by name. */
export class RoomNames {
  constructor() {
    this.forget();
  }

  /** forget drops every name (sign out). */
  forget() {
    this.byID = new Map();
    this.byName = new Map();
    this.loadedAt = 0;
  }

  /**
   * load reads the token's rooms (every page, one ListRooms call) unless it did less than a minute
   * ago; force reads them whatever. A failure keeps the names it has: the views then show ids.
   */
  async load(token, force = false) {
    if (!token || (!force && Date.now() - this.loadedAt < reloadAfterMs)) return;
    this.loadedAt = Date.now();
    try {
      const list = await call('GET', '/rooms', { token });
      this.byID = new Map();
      this.byName = new Map();
      for (const r of (list && list.items) || []) {
        this.byID.set(String(r.id), r.name);
        this.byName.set(String(r.name).toLowerCase(), String(r.id));
      }
    } catch {
      // ListRooms refused (a token without view_group, HipChat down): ids it is.
    }
  }

  /** missing reports whether some of subs name a room this map does not know. */
  missing(subs) {
    return subs.some((s) => s.kind !== 'room' && !s.room_name && !this.of(s).name);
  }

  /** of is the room of sub as {id, name}: either may be '' when unknown. */
  of(sub) {
    if (sub.room_name) return { id: sub.room_id ? String(sub.room_id) : '', name: sub.room_name };
    const typed = String(sub.room || sub.room_id || '');
    if (/^\d+$/.test(typed)) return { id: typed, name: this.byID.get(typed) || '' };
    const id = this.byName.get(typed.toLowerCase()) || '';
    return { id, name: id ? this.byID.get(id) : typed };
  }

  /**
   * describe says what sub watches: {what: 'messages of Ops', where: 'room 1'} (where '' when the
   * id is not known), or {what: 'the room list', where: ''} for new rooms.
   */
  describe(sub) {
    if (sub.kind === 'room') return { what: 'the room list', where: '' };
    const room = this.of(sub);
    const kind = `${sub.kind}s`;
    if (room.name) return { what: `${kind} of ${room.name}`, where: room.id ? `room ${room.id}` : '' };
    return { what: `${kind} of room ${room.id || sub.room || sub.room_id}`, where: '' };
  }
}
