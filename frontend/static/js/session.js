// The session watch on every signed-in page: it keeps the page true to its session.
// - Every tab agrees: a sign-out in one tab reaches the others at once (bff.js's
//   BroadcastChannel); a session ended elsewhere (another device's "My devices", "sign out
//   everywhere", the admin CLI, a timeout) is found by asking `GET /bff/user?slide=false` every
//   `data-poll-seconds` while the page is visible, and at once when it becomes visible again.
//   Either way the page drops what it showed and says plainly that it is signed out.
// - The idle timeout is announced `data-warning-seconds` before it ("stay signed in" extends
//   the session); at the absolute timeout the page goes to the sign-in page, with `next`.
// Deadlines are counted on this page's clock from the BFF's own `now`, so a skewed clock on
// the user's machine moves nothing.
import {
  announceSignIn,
  checkSession,
  endLocally,
  logout,
  onSessionExtended,
  onSignedOut,
  signInUrl,
  user,
} from "./bff.js";

const MESSAGES = {
  "other-tab": "You signed out in another tab of this browser.",
  ended:
    "Your session has ended: it was signed out from another device or by an administrator, " +
    "or it timed out.",
  idle: "You were signed out because of inactivity.",
  replaced:
    "Someone signed in again in another tab of this browser, so this page was signed out. " +
    "Sign in to carry on as yourself.",
};
const MINUTE_MS = 60_000;
const MAX_DELAY_MS = 2 ** 31 - 1; // what setTimeout holds
const MAX_BACKOFF_MS = 5 * MINUTE_MS;

const config = document.body.dataset;
const pollMs = Number(config.pollSeconds || 10) * 1000;
const warningMs = Number(config.warningSeconds || 120) * 1000;
const warning = document.getElementById("session-warning");
const warningText = document.getElementById("session-warning-text");
const stay = document.getElementById("stay-signed-in");

/** @type {{idleAt: number, absoluteAt: number} | null} */
let deadlines = null;
// one timer of each kind, never a second chain beside the first
const timers = { poll: 0, expire: 0, warning: 0 };
let signedOut = false;
let asking = false; // a check is on its way: another one would only repeat it
let failures = 0;

/**
 * `fn` after `delay` ms, one timer per `kind`. A delay past what setTimeout holds (24.8 days)
 * would fire at once: it waits the most it can, and `fn` checks again when it runs.
 * @param {keyof typeof timers} kind @param {() => void} fn @param {number} delay
 */
function later(kind, fn, delay) {
  clearTimeout(timers[kind]);
  timers[kind] = setTimeout(fn, Math.min(Math.max(0, delay), MAX_DELAY_MS));
}

/** @param {import("./bff.js").SessionTimes} session */
function schedule(session) {
  const offset = Date.now() - session.now * 1000; // this clock minus the BFF's
  deadlines = {
    idleAt: session.idle_expires_at * 1000 + offset,
    absoluteAt: session.expires_at * 1000 + offset,
  };
  later("poll", poll, pollMs);
  later("expire", expire, deadlines.absoluteAt - Date.now());
  updateWarning();
  document.body.dataset.sessionWatch = "synced"; // for tests: the deadlines are the BFF's
}

// the warning follows the local clock; the polls (and the other tabs) move the deadline
function updateWarning() {
  if (signedOut || deadlines === null) return;
  const left = deadlines.idleAt - Date.now();
  if (deadlines.absoluteAt <= deadlines.idleAt) {
    hideWarning(); // the absolute end comes first: no staying signed in beyond it
  } else if (left > warningMs) {
    hideWarning();
    later("warning", updateWarning, left - warningMs);
  } else if (left > 0) {
    showWarning(left);
    later("warning", updateWarning, Math.min(left, 15_000));
  }
}

async function poll() {
  if (document.visibilityState !== "visible") return; // visibilitychange asks again
  await refresh();
}

async function refresh() {
  if (signedOut || asking) return;
  asking = true;
  try {
    const session = await checkSession();
    failures = 0;
    showUnreachable(false);
    if (session !== null) schedule(session);
  } catch {
    // the BFF is unreachable or shedding load: the page stays, says so, and asks again, less
    // often each time (up to 5 minutes), so an outage is not met by every tab at full rate
    failures += 1;
    showUnreachable(true);
    later("poll", poll, Math.min(pollMs * 2 ** (failures - 1), MAX_BACKOFF_MS));
  } finally {
    asking = false;
  }
}

/** @param {boolean} unreachable */
function showUnreachable(unreachable) {
  let notice = document.getElementById("session-unreachable");
  if (!unreachable) {
    notice?.remove();
    return;
  }
  if (notice) return;
  notice = document.createElement("p");
  notice.id = "session-unreachable";
  notice.className = "notice notice--warning";
  notice.setAttribute("role", "status");
  notice.textContent =
    "The server cannot be reached right now, so this page may be out of date. Trying again…";
  document.querySelector("main")?.prepend(notice);
}

/** @param {number} left */
function showWarning(left) {
  if (!warning || !warningText) return;
  const minutes = Math.max(1, Math.round(left / MINUTE_MS));
  const when = minutes === 1 ? "in about a minute" : `in ${minutes} minutes`;
  warningText.textContent = `You will be signed out ${when} because of inactivity.`;
  warning.hidden = false;
}

function hideWarning() {
  if (warning) warning.hidden = true;
}

function expire() {
  if (signedOut || deadlines === null) return;
  if (Date.now() < deadlines.absoluteAt) {
    later("expire", expire, deadlines.absoluteAt - Date.now()); // a delay setTimeout cut short
    return;
  }
  endLocally("expired");
  window.location.assign(signInUrl("expired"));
}

/** @param {import("./bff.js").SignOutReason} reason */
function showSignedOut(reason) {
  signedOut = true;
  for (const timer of Object.values(timers)) clearTimeout(timer);
  hideWarning();
  const idle = reason === "ended" && deadlines !== null && Date.now() >= deadlines.idleAt;
  const message = idle ? MESSAGES.idle : MESSAGES[/** @type {keyof typeof MESSAGES} */ (reason)];
  if (!message) return; // this tab signed out, or timed out: it is leaving for the sign-in page
  // nothing of the signed-in page stays on screen: a shared computer shows nothing more
  for (const signedIn of document.querySelectorAll(".site-nav, .site-user")) signedIn.remove();
  const main = document.querySelector("main");
  if (!main) return;
  const notice = document.createElement("section");
  notice.className = "notice notice--warning";
  notice.id = "signed-out";
  notice.setAttribute("role", "alert");
  const heading = document.createElement("h1");
  heading.textContent = "You are signed out";
  heading.tabIndex = -1;
  const text = document.createElement("p");
  text.textContent = message;
  const again = document.createElement("a");
  again.className = "btn btn--primary";
  again.href = signInUrl();
  again.textContent = "Sign in again";
  notice.append(heading, text, again);
  main.replaceChildren(notice);
  heading.focus();
}

stay?.addEventListener("click", async () => {
  stay.disabled = true;
  try {
    schedule((await user()).session); // a sliding call: the session is extended
    if (warningText) warningText.textContent = "";
  } catch {
    if (warningText) warningText.textContent = "Could not reach the server. Try again.";
  } finally {
    stay.disabled = false;
  }
});
document
  .querySelector("#logout")
  ?.closest("form")
  ?.addEventListener("submit", async (event) => {
    // signed out through the client, so every other tab learns it at once; should the BFF be
    // unreachable, the form itself is sent as it would be without JavaScript
    event.preventDefault();
    const form = /** @type {HTMLFormElement} */ (event.currentTarget);
    try {
      await logout();
    } catch {
      form.submit();
    }
  });
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") refresh();
});
onSignedOut(showSignedOut);
onSessionExtended(schedule);
announceSignIn();
refresh();
