// operator.js: the operator's list of every subscription, a table of one row each, a page at a time
// (GET /admin/subscriptions?limit=&cursor=), filtered by status.

import { $ } from '../shared/page.js';
import { call } from './api.js';
import { button, operatorRow } from './render.js';

/** pageSize is how many subscriptions one page of the operator's list shows. */
export const pageSize = 50;

/** OperatorList is the page of the operator's list on view and how to get to the others. */
export class OperatorList {
  constructor() {
    this.reset();
  }

  /** reset goes back to the first page (a new filter, or signing out). */
  reset() {
    this.cursors = ['']; // cursors[i] starts page i
    this.page = 0;
    this.shown = '';
  }

  path() {
    const query = new URLSearchParams({ limit: String(pageSize) });
    const status = $('all-status').value;
    if (status) query.set('status', status);
    if (this.cursors[this.page]) query.set('cursor', this.cursors[this.page]);
    return '/admin/subscriptions?' + query;
  }

  /**
   * load reads the page on view as operator and renders it with rooms (RoomNames) and the ids of
   * the subscriptions the signed-in token's list shows (mine). A page emptied by deletions goes
   * back one. It resolves to the page's answer.
   */
  async load(operator, rooms, mine) {
    let list = await call('GET', this.path(), { token: operator });
    while ((list.items || []).length === 0 && this.page > 0) {
      this.page--;
      list = await call('GET', this.path(), { token: operator });
    }
    this.cursors.length = this.page + 1;
    if (list.next_cursor) this.cursors.push(list.next_cursor);
    this.render(list, rooms, mine);
    return list;
  }

  render(list, rooms, mine) {
    const items = list.items || [];
    const json = JSON.stringify([items, this.page, [...mine]]);
    if (json !== this.shown) {
      this.shown = json;
      $('all-list').replaceChildren(...items.map((s) => operatorRow(s, actions(s), rooms.describe(s), mine.has(s.id))));
    }
    const total = typeof list.total === 'number' ? list.total : items.length;
    const first = this.page * pageSize + 1;
    $('all-table').hidden = items.length === 0;
    $('all-empty').hidden = items.length > 0;
    $('all-caption').textContent = items.length === 0 ? '' :
      `Subscriptions ${first}–${first + items.length - 1} of ${total}, by id` +
      (mine.size > 0 ? '; those of the signed-in token are marked and shown in full above.' : '.');
    $('all-page').textContent = `Page ${this.page + 1} of ${Math.max(1, Math.ceil(total / pageSize))}`;
    this.pagerButtons();
  }

  /** pagerButtons enables Previous and Next where there is a page to go to. */
  pagerButtons() {
    $('all-prev').disabled = this.page === 0;
    $('all-next').disabled = this.cursors.length <= this.page + 1;
  }

  /** next and previous move one page (load then reads it). */
  next() {
    if (this.cursors.length > this.page + 1) this.page++;
  }

  previous() {
    if (this.page > 0) this.page--;
  }
}

function actions(sub) {
  const out = [];
  if (sub.status === 'paused' || sub.status === 'suspended') out.push(button('Resume', 'resume', sub.id, `Resume subscription ${sub.id}`));
  if (sub.status === 'active' || sub.status === 'suspended') out.push(button('Pause', 'pause', sub.id, `Pause subscription ${sub.id}`));
  return out;
}
