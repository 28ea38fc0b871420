// The JS client's contract (frontend/static/js/bff.js) in Node's own test runner, with a fetch
// and a location of the test's making: the network and the page are what these tests are not
// about. The browser itself is the e2e suite's. Time is Node's mocked Date, never waited for.
import assert from "node:assert/strict";
import { afterEach, beforeEach, mock, test } from "node:test";

const API = "https://api.test";
let loaded = 0;

/** A fresh module (its state is per import), a scripted BFF and API, and a fake page. */
async function client({ mode = "token", routes = {} } = {}) {
  const calls = [];
  const visited = [];
  globalThis.window = {
    location: { pathname: "/app", search: "?view=all", assign: (url) => visited.push(url) },
  };
  globalThis.fetch = async (url, init = {}) => {
    const method = init.method || "GET";
    const headers = new Headers(init.headers);
    calls.push({ method, url, headers, credentials: init.credentials, body: init.body });
    const route = routes[`${method} ${url}`];
    if (!route) return new Response("{}", { status: 404 });
    return route({ headers, calls });
  };
  loaded += 1;
  const bff = await import(`../static/js/bff.js?instance=${loaded}`);
  bff.configure({ mode, api: API });
  return { bff, calls, visited };
}

function json(body, status = 200) {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json" },
  });
}

let minted = 0;
function tokenRoute(expiresIn = 300) {
  return () => {
    minted += 1;
    return json({ access_token: `t${minted}`, token_type: "Bearer", expires_in: expiresIn });
  };
}

const USER = {
  sub: "u1",
  email: "a@example.com",
  role: "user",
  sid: "s1",
  session: { expires_at: 2000, idle_expires_at: 1500, now: 1000 },
};

beforeEach(() => {
  minted = 0;
  mock.timers.enable({ apis: ["Date"], now: 1_000_000 });
});
afterEach(() => mock.timers.reset());

const tokenCalls = (calls) => calls.filter((c) => c.url === "/bff/token");

test("concurrent calls share one token request, sent with the cookie and X-CSRF", async () => {
  const { bff, calls } = await client({
    routes: { "POST /bff/token": tokenRoute(), [`GET ${API}/notes`]: () => json({ notes: [] }) },
  });
  const answers = await Promise.all([1, 2, 3, 4, 5].map(() => bff.apiFetch("/notes")));
  assert.deepEqual(
    answers.map((a) => a.status),
    [200, 200, 200, 200, 200],
  );
  const [token] = tokenCalls(calls);
  assert.equal(tokenCalls(calls).length, 1);
  assert.equal(token.headers.get("X-CSRF"), "1");
  assert.equal(token.credentials, "same-origin");
  for (const call of calls.filter((c) => c.url.startsWith(API))) {
    assert.equal(call.headers.get("Authorization"), "Bearer t1");
    assert.equal(call.credentials, "omit"); // no cookie of ours goes to the API
  }
});

test("a token is fetched again 30 s before it expires, not before", async () => {
  const { bff, calls } = await client({
    routes: { "POST /bff/token": tokenRoute(300), [`GET ${API}/me`]: () => json({}) },
  });
  await bff.apiFetch("/me");
  mock.timers.tick(269_000);
  await bff.apiFetch("/me");
  assert.equal(tokenCalls(calls).length, 1);
  mock.timers.tick(2_000); // 29 s left
  await bff.apiFetch("/me");
  assert.equal(tokenCalls(calls).length, 2);
  assert.equal(calls.at(-1).headers.get("Authorization"), "Bearer t2");
});

test("a 401 from the API gets one fresh token and one retry, never a loop", async () => {
  let refusals = 0;
  const { bff, calls } = await client({
    routes: {
      "POST /bff/token": tokenRoute(),
      [`GET ${API}/me`]: ({ headers }) =>
        headers.get("Authorization") === "Bearer t2" ? json({ sub: "u1" }) : json({}, 401),
      [`GET ${API}/admin/stats`]: () => {
        refusals += 1;
        return json({ error: "invalid_token" }, 401);
      },
    },
  });
  assert.equal((await bff.apiFetch("/me")).status, 200);
  assert.equal(tokenCalls(calls).length, 2);
  const refused = await bff.apiFetch("/admin/stats");
  assert.equal(refused.status, 401); // handed back after one retry
  assert.equal(refusals, 2);
});

test("a 401 from the BFF goes to the sign-in page with next, and tells the listeners", async () => {
  const { bff, visited } = await client({
    routes: { "POST /bff/token": () => json({ error: "unauthenticated" }, 401) },
  });
  const reasons = [];
  bff.onSignedOut((reason) => reasons.push(reason));
  await assert.rejects(bff.apiFetch("/notes"), bff.SignedOutError);
  assert.deepEqual(visited, ["/login?next=%2Fapp%3Fview%3Dall&reason=ended"]);
  assert.deepEqual(reasons, ["ended"]);
  await assert.rejects(bff.apiFetch("/notes"), bff.SignedOutError); // and no more calls
});

test("user() reports the session; without one it goes to sign in", async () => {
  let signedIn = true;
  const { bff, calls, visited } = await client({
    routes: {
      "GET /bff/user": () => (signedIn ? json(USER) : json({}, 401)),
      "GET /bff/user?slide=false": () => json(USER),
    },
  });
  assert.equal((await bff.user()).email, "a@example.com");
  assert.equal((await bff.user({ slide: false })).sid, "s1");
  assert.deepEqual(
    calls.map((c) => c.url),
    ["/bff/user", "/bff/user?slide=false"],
  );
  signedIn = false;
  await assert.rejects(bff.user(), bff.SignedOutError);
  assert.deepEqual(visited, ["/login?next=%2Fapp%3Fview%3Dall&reason=ended"]);
});

test("proxy mode calls /api/* with the cookie and X-CSRF, and never asks for a token", async () => {
  let live = true;
  const { bff, calls, visited } = await client({
    mode: "proxy",
    routes: {
      "GET /api/notes": () => json({ notes: [] }),
      "GET /api/admin/stats": () => json({ error: "insufficient_scope" }, 401),
      "GET /bff/user?slide=false": () => (live ? json(USER) : json({}, 401)),
    },
  });
  assert.equal((await bff.apiFetch("/notes")).status, 200);
  const [call] = calls;
  assert.equal(call.headers.get("X-CSRF"), "1");
  assert.equal(call.credentials, "same-origin");
  // the API's 401 while the session lives is handed back; the BFF's ends the session
  assert.equal((await bff.apiFetch("/admin/stats")).status, 401);
  assert.deepEqual(visited, []);
  live = false;
  await assert.rejects(bff.apiFetch("/admin/stats"), bff.SignedOutError);
  assert.deepEqual(visited, ["/login?next=%2Fapp%3Fview%3Dall&reason=ended"]);
  assert.equal(tokenCalls(calls).length, 0);
  assert.ok(calls.every((c) => !c.url.startsWith(API)));
});

test("logout ends the session at the BFF, tells the other tabs and leaves", async () => {
  const { bff, calls, visited } = await client({
    routes: { "POST /bff/logout": () => json({ logged_out: true }) },
  });
  const otherTab = new BroadcastChannel("bff-session");
  const heard = new Promise((resolve) => {
    otherTab.onmessage = (event) => resolve(event.data);
  });
  const reasons = [];
  bff.onSignedOut((reason) => reasons.push(reason));
  await bff.logout();
  assert.deepEqual(await heard, { type: "signed-out", reason: "logout" });
  otherTab.close();
  assert.equal(calls[0].headers.get("X-CSRF"), "1");
  assert.deepEqual(visited, ["/login"]);
  assert.deepEqual(reasons, ["logout"]);
});

test("a logout the BFF could not take rejects and stays", async () => {
  const { bff, visited } = await client({
    routes: { "POST /bff/logout": () => json({ error: "temporarily_unavailable" }, 503) },
  });
  await assert.rejects(bff.logout(), bff.BffError);
  assert.deepEqual(visited, []);
});

test("a sign-out in another tab reaches this one's listeners", async () => {
  const { bff } = await client();
  const reason = new Promise((resolve) => bff.onSignedOut(resolve));
  const otherTab = new BroadcastChannel("bff-session");
  otherTab.postMessage({ type: "signed-out" });
  assert.equal(await reason, "other-tab");
  otherTab.close();
  await assert.rejects(bff.apiFetch("/notes"), bff.SignedOutError);
});

/** A token as the BFF shapes it: only its payload's sid matters to the client. */
function jwtFor(sid) {
  const part = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${part({ alg: "ES256", typ: "at+jwt" })}.${part({ sid })}.signature`;
}

test("a token for another session (someone signed in again in another tab) is never used", async () => {
  const { bff, calls, visited } = await client({
    routes: {
      "POST /bff/token": () => json({ access_token: jwtFor("s2"), expires_in: 300 }),
      [`GET ${API}/notes`]: () => json({ notes: [] }),
    },
  });
  bff.configure({ api: API, sid: "s1" });
  const reasons = [];
  bff.onSignedOut((reason) => reasons.push(reason));
  await assert.rejects(bff.apiFetch("/notes"), bff.SignedOutError);
  assert.ok(calls.every((c) => !c.url.startsWith(API))); // the other session's token stays unused
  assert.deepEqual(reasons, ["replaced"]);
  assert.equal(visited.length, 1);
});

test("the page's own session is used as before", async () => {
  const { bff, calls } = await client({
    routes: {
      "POST /bff/token": () => json({ access_token: jwtFor("s1"), expires_in: 300 }),
      [`GET ${API}/notes`]: () => json({ notes: [] }),
    },
  });
  bff.configure({ api: API, sid: "s1" });
  assert.equal((await bff.apiFetch("/notes")).status, 200);
  assert.equal(calls.at(-1).headers.get("Authorization"), `Bearer ${jwtFor("s1")}`);
});

test("a sign-in in another tab under another session ends this page's, not that one's", async () => {
  const { bff, calls } = await client({
    routes: {
      "GET /bff/user?slide=false": ({ headers }) =>
        headers.get("X-BFF-Sid") === "s1" ? json({ error: "session_changed" }, 409) : json(USER),
    },
  });
  bff.configure({ api: API, sid: "s1" });
  const reason = new Promise((resolve) => bff.onSignedOut(resolve));
  const otherTab = new BroadcastChannel("bff-session");
  const told = [];
  otherTab.onmessage = (event) => told.push(event.data);
  otherTab.postMessage({ type: "signed-in", sid: "s1" }); // its own session: nothing happens
  otherTab.postMessage({ type: "signed-in", sid: "s2" });
  assert.equal(await reason, "replaced"); // the BFF said the cookie's session is another
  otherTab.close();
  assert.deepEqual(told, []); // and it says nothing that would end the new session's tabs
  assert.ok(calls.every((c) => c.url === "/bff/user?slide=false")); // it asked before it ended
});

test("a late page of an older session does not end this one's", async () => {
  const { bff, calls } = await client({
    routes: { "GET /bff/user?slide=false": () => json({ ...USER, sid: "s2" }) },
  });
  bff.configure({ api: API, sid: "s2" });
  const reasons = [];
  bff.onSignedOut((reason) => reasons.push(reason));
  const oldPage = new BroadcastChannel("bff-session");
  oldPage.postMessage({ type: "signed-in", sid: "s1" });
  await new Promise((resolve) => setTimeout(resolve, 50));
  oldPage.close();
  assert.ok(calls.length >= 1); // it asked, and the cookie's session is still its own
  assert.deepEqual(reasons, []);
});

test("every call to the BFF names the page's session, and a 409 for another is the end", async () => {
  const { bff, calls, visited } = await client({
    mode: "proxy",
    routes: { "GET /api/notes": () => json({ error: "session_changed" }, 409) },
  });
  bff.configure({ mode: "proxy", sid: "s1" });
  await assert.rejects(bff.apiFetch("/notes"), bff.SignedOutError);
  assert.equal(calls[0].headers.get("X-BFF-Sid"), "s1");
  assert.deepEqual(visited, ["/login?next=%2Fapp%3Fview%3Dall&reason=replaced"]);
});

test("an ended session is told to the other tabs with its reason", async () => {
  const { bff } = await client({ routes: { "GET /bff/user?slide=false": () => json({}, 401) } });
  const otherTab = new BroadcastChannel("bff-session");
  const heard = new Promise((resolve) => {
    otherTab.onmessage = (event) => resolve(event.data);
  });
  assert.equal(await bff.checkSession(), null);
  assert.deepEqual(await heard, { type: "signed-out", reason: "ended" });
  otherTab.close();
});

test("a path that would leave the API's origin never gets the token", async () => {
  const { bff, calls } = await client({ routes: { "POST /bff/token": tokenRoute() } });
  for (const path of ["@evil.test/x", ".evil.test/x"]) {
    await assert.rejects(bff.apiFetch(path), TypeError);
  }
  assert.ok(calls.every((c) => !c.url.includes("evil")));
});
