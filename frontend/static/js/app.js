// The client-side app: /me and the user's notes, fetched from the API with the in-memory token.
// biome-ignore lint/suspicious/noRedundantUseStrict: a classic script until the ES-module rewrite
"use strict";

function element(tag, text) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text; // textContent: API data is never HTML
  return node;
}

async function apiJson(api, path, init = {}) {
  const response = await BffAuth.apiFetch(api + path, init);
  const body = response.status === 204 ? null : await response.json();
  if (!response.ok) throw new Error(body?.error_description || String(response.status));
  return body;
}

async function showMe(api) {
  const status = document.getElementById("status");
  const me = document.getElementById("me");
  try {
    me.textContent = JSON.stringify(await apiJson(api, "/me"), null, 2);
    me.hidden = false;
    status.textContent = "Fetched /me from the API with an in-memory token.";
    status.dataset.state = "ok";
  } catch (error) {
    status.textContent = `Could not reach the API: ${error.message}`;
    status.dataset.state = "error";
  }
}

async function showNotes(api) {
  const list = document.getElementById("notes");
  const problem = document.getElementById("notes-problem");
  try {
    const { notes } = await apiJson(api, "/notes");
    list.replaceChildren(...notes.map((note) => noteItem(api, note)));
    list.dataset.count = String(notes.length);
    problem.textContent = "";
  } catch (error) {
    problem.textContent = `Notes unavailable: ${error.message}`;
  }
}

function noteItem(api, note) {
  const item = element("li");
  item.dataset.id = note.id;
  item.append(element("strong", note.title), element("p", note.body));
  const remove = element("button", "Delete");
  remove.type = "button";
  remove.className = "delete-note";
  remove.addEventListener("click", async () => {
    await apiJson(api, `/notes/${encodeURIComponent(note.id)}`, { method: "DELETE" });
    await showNotes(api);
  });
  item.append(remove);
  return item;
}

async function addNote(api, form) {
  const problem = document.getElementById("notes-problem");
  const data = new FormData(form);
  try {
    await apiJson(api, "/notes", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ title: data.get("title"), body: data.get("body") }),
    });
    form.reset();
    await showNotes(api);
  } catch (error) {
    problem.textContent = `Could not save: ${error.message}`;
  }
}

document.addEventListener("DOMContentLoaded", async () => {
  const api = document.getElementById("app").dataset.api;
  document.getElementById("js-logout").addEventListener("click", () => BffAuth.logout());
  const form = document.getElementById("note-form");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    addNote(api, form);
  });
  await showMe(api);
  await showNotes(api);
});
