// The BFF's browser client, an ES module: `import { apiFetch, user, logout, onSignedOut } from
// "/static/js/bff.js"`. The README's "The JS client" documents it.
//
// Access tokens live in this module's memory only: never in web storage, IndexedDB or a
// readable cookie, so an injected script cannot lift one from storage, and a reload simply asks
// the BFF again. Token fetches are single-flight. A token is fetched again when less than a
// margin of its life is left, and only when a call needs it: a timer refreshing it in the
// background would slide the session for ever and no one would be signed out for inactivity.
// Every tab of the browser shares one BroadcastChannel: a sign-out in one reaches the others.

const CHANNEL_NAME = "bff-session";
const REFRESH_MARGIN_MS = 30_000;
const REPLACED = Symbol("replaced"); // the BFF's 409 session_changed

/** @typedef {"logout" | "other-tab" | "ended" | "replaced" | "expired"} SignOutReason */

/** A call made after the session ended (`reason` says how it ended). */
export class SignedOutError extends Error {
  /** @param {SignOutReason} reason */
  constructor(reason) {
    super(`signed out (${reason})`);
    this.name = "SignedOutError";
    this.reason = reason;
  }
}

/** The BFF refused a call for another reason than a missing session (`status`, `body`). */
export class BffError extends Error {
  /**
   * @param {number} status
   * @param {{error?: string, error_description?: string} | null} body
   */
  constructor(status, body) {
    super(body?.error_description || `the BFF answered ${status}`);
    this.name = "BffError";
    this.status = status;
    this.body = body;
  }
}

// the session this page belongs to (base.html's `data-sid`): an answer for any other session
// (someone signed in as another user in another tab) ends this page's session, never joins it
const settings = { mode: "token", api: "", sid: globalThis.document?.body?.dataset.sid || "" };
/** @type {{value: string, expiresAt: number} | null} */
let current = null;
/** @type {Promise<string> | null} */
let pending = null;
/** @type {SignOutReason | null} */
let ended = null;
/** @type {Set<(reason: SignOutReason) => void>} */
const listeners = new Set();
/** @type {Set<(session: SessionTimes) => void>} */
const sessionListeners = new Set();
const channel = typeof BroadcastChannel === "function" ? new BroadcastChannel(CHANNEL_NAME) : null;

/**
 * @typedef {{expires_at: number, idle_expires_at: number, now: number}} SessionTimes
 * @typedef {{sub: string, email: string | null, role: string, sid: string,
 *            session: SessionTimes}} User
 */

/**
 * Where the API is and how to reach it. `mode` "token" (the default) calls `api` directly with
 * an in-memory bearer token; "proxy" (pure-BFF mode) calls it through the BFF's `/api/*` with
 * the session cookie, and no token ever reaches this page. `sid`: the session the page was
 * rendered for (default: `<body data-sid>`); answers for another one end this page's session.
 * @param {{mode?: "token" | "proxy", api?: string, sid?: string}} options
 */
export function configure({ mode = "token", api = "", sid = settings.sid } = {}) {
  if (mode !== "token" && mode !== "proxy") throw new TypeError(`unknown mode: ${mode}`);
  settings.mode = mode;
  settings.api = api.replace(/\/+$/, "");
  settings.sid = sid;
  current = null;
}

/**
 * Calls `listener(reason)` once the session has ended: "logout" (this tab signed out),
 * "other-tab" (another tab of this browser did), "ended" (the BFF no longer knows the session:
 * ended on another device, by an administrator, or timed out), "replaced" (someone signed in
 * again in another tab, maybe as another user), "expired" (the session reached its absolute
 * timeout). Returns a function that removes the listener.
 * @param {(reason: SignOutReason) => void} listener
 */
export function onSignedOut(listener) {
  listeners.add(listener);
  if (ended !== null) {
    const reason = ended;
    queueMicrotask(() => listener(reason));
  }
  return () => listeners.delete(listener);
}

/**
 * A call to the API: `path` is the API's (`/notes`), `init` as for `fetch`. In token mode a 401
 * gets one fresh token and one retry; in proxy mode a 401 is checked against the session.
 * A session the BFF no longer knows sends the browser to the sign-in page (`next` = this page)
 * and rejects with SignedOutError. Any other answer, an API error too, is returned as is.
 * @param {string} path
 * @param {RequestInit} [init]
 * @returns {Promise<Response>}
 */
export async function apiFetch(path, init = {}) {
  if (ended !== null) throw new SignedOutError(ended);
  if (settings.mode === "proxy") return proxyFetch(path, init);
  let token = await accessToken();
  let response = await bearerFetch(path, init, token);
  if (response.status === 401) {
    if (current?.value === token) current = null; // revoked or expired early: one fresh try
    token = await accessToken();
    response = await bearerFetch(path, init, token);
  }
  return response;
}

/**
 * The signed-in user and the session's deadlines (`GET /bff/user`). By default the call counts
 * as activity and extends the session; `{slide: false}` only reports. Without a session: the
 * sign-in page, and SignedOutError.
 * @param {{slide?: boolean}} [options]
 * @returns {Promise<User>}
 */
export async function user({ slide = true } = {}) {
  const found = await readUser(slide);
  if (found === null) return leave("ended");
  if (found === REPLACED || !isOurs(found.sid)) return leave("replaced");
  if (slide) announceSession(found.session);
  return found;
}

/**
 * Ends the session at the BFF (its tokens die at the APIs too), tells every other tab, and
 * goes to the sign-in page. Rejects, and stays, when the BFF could not be reached.
 */
export async function logout() {
  current = null;
  const response = await fetch("/bff/logout", {
    method: "POST",
    credentials: "same-origin",
    headers: bffHeaders(),
  });
  if (await isReplaced(response)) {
    // this page's session is gone already; the cookie's is someone else's, left alone
    end("replaced", { broadcast: false });
    window.location.assign("/login");
    return;
  }
  if (!response.ok && response.status !== 401) throw new BffError(response.status, null);
  end("logout", { broadcast: true });
  window.location.assign("/login");
}

/**
 * For the session watch (session.js): the session's deadlines without extending it, or null
 * once it has ended, after telling every listener and every tab; never navigates.
 * @returns {Promise<SessionTimes | null>}
 */
export async function checkSession() {
  if (ended !== null) return null;
  const found = await readUser(false);
  if (found === null) {
    end("ended", { broadcast: true });
    return null;
  }
  if (found === REPLACED || !isOurs(found.sid)) {
    end("replaced", { broadcast: false }); // the other session's tabs carry on
    return null;
  }
  return found.session;
}

/**
 * For the session watch: `listener(times)` whenever this tab or another extended the session.
 * @param {(session: SessionTimes) => void} listener
 */
export function onSessionExtended(listener) {
  sessionListeners.add(listener);
  return () => sessionListeners.delete(listener);
}

/**
 * For the session watch: tells the other tabs which session this page started with, so a tab of
 * an older session (another user's, on a shared computer) stops at once.
 */
export function announceSignIn() {
  if (settings.sid) channel?.postMessage({ type: "signed-in", sid: settings.sid });
}

/**
 * Ends the session locally, for a reason the watch found on its own (the absolute timeout).
 * @param {SignOutReason} reason
 */
export function endLocally(reason) {
  end(reason, { broadcast: false });
}

/**
 * `/login?next=<this page>`, where the sign-in sends the user back; `reason` ("expired",
 * "ended", "replaced") has the sign-in page say why the user is there.
 * @param {"expired" | "ended" | "replaced"} [reason]
 */
export function signInUrl(reason) {
  const next = window.location.pathname + window.location.search;
  return `/login?next=${encodeURIComponent(next)}${reason ? `&reason=${reason}` : ""}`;
}

/** @param {boolean} slide @returns {Promise<User | null | typeof REPLACED>} */
async function readUser(slide) {
  const response = await fetch(slide ? "/bff/user" : "/bff/user?slide=false", {
    credentials: "same-origin",
    headers: bffHeaders(),
  });
  if (response.status === 401) return null;
  if (await isReplaced(response)) return REPLACED;
  if (!response.ok) throw new BffError(response.status, await bodyOf(response));
  return response.json();
}

async function accessToken() {
  if (current !== null && Date.now() < current.expiresAt) return current.value;
  pending ??= fetchToken().finally(() => {
    pending = null;
  });
  return pending;
}

async function fetchToken() {
  const response = await fetch("/bff/token", {
    method: "POST",
    credentials: "same-origin",
    headers: bffHeaders(),
  });
  if (response.status === 401) return leave("ended");
  if (await isReplaced(response)) return leave("replaced");
  if (!response.ok) throw new BffError(response.status, await bodyOf(response));
  const body = await response.json();
  if (ended !== null) throw new SignedOutError(ended); // signed out while it was on its way
  if (!isOurs(claimsOf(body.access_token).sid)) return leave("replaced");
  const lifetime = body.expires_in * 1000;
  // fetched again once less than the margin is left (half its life for a short one)
  current = {
    value: body.access_token,
    expiresAt: Date.now() + lifetime - Math.min(REFRESH_MARGIN_MS, lifetime / 2),
  };
  return current.value;
}

/** @param {string} path @param {RequestInit} init @param {string} token */
function bearerFetch(path, init, token) {
  const headers = new Headers(init.headers);
  headers.set("Authorization", `Bearer ${token}`);
  const url = new URL(settings.api + path);
  // a path such as "@evil.test/x" must not carry the token to another host
  if (url.origin !== new URL(settings.api).origin) throw new TypeError(`not an API path: ${path}`);
  // the API is another origin: no cookie of ours is ever sent to it
  return fetch(url.href, { ...init, headers, credentials: "omit" });
}

/** @param {string} path @param {RequestInit} init */
async function proxyFetch(path, init) {
  const headers = new Headers(init.headers);
  for (const [name, value] of Object.entries(bffHeaders())) headers.set(name, value);
  const response = await fetch(`/api${path}`, { ...init, headers, credentials: "same-origin" });
  // the BFF refuses, unanswered, a call whose page belongs to another session than the cookie's
  if (await isReplaced(response)) return leave("replaced");
  // a 401 is the BFF's (no session) or the API's (passed through): ask which
  if (response.status === 401) {
    const found = await readUser(false);
    if (found === null) return leave("ended");
    if (found === REPLACED || !isOurs(found.sid)) return leave("replaced");
  }
  return response;
}

/**
 * A call found no session: every listener and tab is told, then the sign-in page.
 * @param {SignOutReason} reason
 * @returns {never}
 */
function leave(reason) {
  // "replaced": the cookie now holds another session, whose tabs must go on
  end(reason, { broadcast: reason !== "replaced" });
  window.location.assign(signInUrl(reason === "replaced" ? "replaced" : "ended"));
  throw new SignedOutError(reason);
}

/** @param {SignOutReason} reason @param {{broadcast: boolean}} options */
function end(reason, { broadcast }) {
  if (ended !== null) return;
  ended = reason;
  current = null;
  if (broadcast) channel?.postMessage({ type: "signed-out", reason });
  for (const listener of listeners) {
    try {
      listener(reason);
    } catch (error) {
      console.error(error);
    }
  }
}

/** @param {SessionTimes} session */
function announceSession(session) {
  channel?.postMessage({ type: "session", session });
  for (const listener of sessionListeners) listener(session);
}

/** @param {Response} response */
async function bodyOf(response) {
  try {
    return await response.json();
  } catch {
    return null;
  }
}

channel?.addEventListener("message", (event) => {
  const message = event.data;
  if (message?.type === "signed-out") {
    // a tab that signed out says "logout"; one that found the session gone says how
    const heard = message.reason === "ended" || message.reason === "expired" ? message.reason : "";
    end(heard || "other-tab", { broadcast: false });
  } else if (message?.type === "signed-in" && typeof message.sid === "string") {
    // a page of another session was opened: ask the BFF whose session the cookie holds now (a
    // page of an older session, loaded late, must not sign out the newer one's tabs)
    if (!isOurs(message.sid)) checkSession().catch(() => null);
  } else if (message?.type === "session" && isSessionTimes(message.session)) {
    for (const listener of sessionListeners) listener(message.session);
  }
});

/** The headers of every call to the BFF: the anti-forgery header and this page's session. */
function bffHeaders() {
  /** @type {Record<string, string>} */
  const headers = { "X-CSRF": "1" };
  if (settings.sid) headers["X-BFF-Sid"] = settings.sid;
  return headers;
}

/** @param {Response} response: the BFF's 409 for a page of another session than the cookie's */
async function isReplaced(response) {
  if (response.status !== 409) return false;
  return (await bodyOf(response.clone()))?.error === "session_changed";
}

/** @param {unknown} sid: whether an answer belongs to this page's session */
function isOurs(sid) {
  return !settings.sid || sid === settings.sid;
}

/** @param {string} token @returns {{sid?: string}} the claims, read only to compare the sid */
function claimsOf(token) {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(payload));
  } catch {
    return {};
  }
}

/** @param {unknown} value @returns {value is SessionTimes} */
function isSessionTimes(value) {
  if (typeof value !== "object" || value === null) return false;
  const times = /** @type {Record<string, unknown>} */ (value);
  return ["expires_at", "idle_expires_at", "now"].every((key) => Number.isInteger(times[key]));
}
