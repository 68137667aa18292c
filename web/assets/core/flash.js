// One message carried across a navigation ("Address confirmed: sign in"),
// shown once by the next view that takes it. Owned by this module.
let message = '';

/** flash keeps msg for the next view. */
export function flash(msg) {
  message = msg;
}

/** takeFlash returns the kept message once, then ''. */
export function takeFlash() {
  const m = message;
  message = '';
  return m;
}
