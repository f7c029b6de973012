// page.js (shared): what every page does with its status line (#status), its error box (#error) and
// the buttons of a request in flight.

/** $ is the element with id. */
export const $ = (id) => document.getElementById(id);

/** say puts text in the status line, which a screen reader reads out. */
export function say(text) {
  $('status').textContent = text;
}

/** showError shows an error (or any value) in the error box. */
export function showError(e) {
  const box = $('error');
  box.textContent = e instanceof Error ? e.message : String(e);
  box.hidden = false;
}

/** clearError empties and hides the error box. */
export function clearError() {
  $('error').hidden = true;
  $('error').textContent = '';
}

/**
 * busy disables target (a button, or every button of a form) while fn runs, and shows its error
 * in the error box.
 */
export async function busy(target, fn) {
  const buttons = target instanceof HTMLFormElement ? [...target.querySelectorAll('button')] : [target];
  buttons.forEach((b) => { b.disabled = true; });
  clearError();
  try {
    await fn();
  } catch (e) {
    showError(e);
  } finally {
    buttons.forEach((b) => { b.disabled = false; });
  }
}
