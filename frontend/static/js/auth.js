// The in-memory token client. The access token lives only in this closure: never in web storage
// or a readable cookie, so an injected script cannot lift it from storage, and a reload simply
// asks the BFF again.
// biome-ignore lint/suspicious/noRedundantUseStrict: a classic script until the ES-module rewrite
"use strict";

// biome-ignore lint/correctness/noUnusedVariables: the global app.js calls (a classic script)
const BffAuth = (() => {
  let accessToken = null;
  let expiresAt = 0;
  let pending = null;
  const REFRESH_MARGIN_MS = 30_000;

  async function bffCall(path, init = {}) {
    const response = await fetch(path, {
      ...init,
      credentials: "same-origin",
      headers: { "X-CSRF": "1", ...(init.headers || {}) },
    });
    if (response.status === 401) {
      window.location.assign(`/login?next=${encodeURIComponent(window.location.pathname)}`);
      throw new Error("signed out");
    }
    return response;
  }

  async function fetchToken() {
    const response = await bffCall("/bff/token", { method: "POST" });
    if (!response.ok) throw new Error(`token request failed: ${response.status}`);
    const body = await response.json();
    accessToken = body.access_token;
    expiresAt = Date.now() + body.expires_in * 1000;
  }

  async function token() {
    if (!accessToken || Date.now() > expiresAt - REFRESH_MARGIN_MS) {
      pending =
        pending ||
        fetchToken().finally(() => {
          pending = null;
        });
      await pending;
    }
    return accessToken;
  }

  async function apiFetch(url, init = {}) {
    const send = async () =>
      fetch(url, {
        ...init,
        credentials: "omit",
        headers: { ...(init.headers || {}), Authorization: `Bearer ${await token()}` },
      });
    let response = await send();
    if (response.status === 401) {
      accessToken = null; // revoked or expired early: one fresh try
      response = await send();
    }
    return response;
  }

  async function user() {
    const response = await bffCall("/bff/user");
    return response.json();
  }

  async function logout() {
    accessToken = null;
    await bffCall("/bff/logout", { method: "POST" }).catch(() => null);
    window.location.assign("/login");
  }

  return Object.freeze({ apiFetch, user, logout });
})();
