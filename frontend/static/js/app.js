"use strict";

document.addEventListener("DOMContentLoaded", async () => {
  const root = document.getElementById("app");
  const api = root.dataset.api;
  const status = document.getElementById("status");
  const me = document.getElementById("me");
  document.getElementById("js-logout").addEventListener("click", () => BffAuth.logout());
  try {
    const response = await BffAuth.apiFetch(api + "/me");
    const body = await response.json();
    if (!response.ok) throw new Error(body.error_description || response.status);
    me.textContent = JSON.stringify(body, null, 2);
    me.hidden = false;
    status.textContent = "Fetched /me from the API with an in-memory token.";
    status.dataset.state = "ok";
  } catch (error) {
    status.textContent = "Could not reach the API: " + error.message;
    status.dataset.state = "error";
  }
});
