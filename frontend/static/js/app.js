// The notes app. The server rendered its first notes (readable with JavaScript off) and handed
// them over in #initial-notes; this script carries on from there, so nothing flashes empty.
// It calls the API through bff.js: with an in-memory token, or through /api/* in pure-BFF mode.
// API data only ever reaches the page as text (textContent), never as HTML.
import { apiFetch, configure, SignedOutError } from "./bff.js";

const root = /** @type {HTMLElement} */ (document.getElementById("app"));
const list = /** @type {HTMLUListElement} */ (document.getElementById("notes"));
const form = /** @type {HTMLFormElement} */ (document.getElementById("note-form"));
const live = /** @type {HTMLElement} */ (document.getElementById("live"));
const problem = /** @type {HTMLElement} */ (document.getElementById("notes-problem"));
const retry = /** @type {HTMLButtonElement} */ (document.getElementById("notes-retry"));
const empty = /** @type {HTMLElement} */ (document.getElementById("notes-empty"));
const heading = /** @type {HTMLElement} */ (document.getElementById("notes-heading"));

/**
 * @typedef {{id: string, title: string, body: string, created_at: number,
 *            updated_at: number}} Note
 */

/** An API error answer: its description and, for a 422, what is wrong with each field. */
class ApiError extends Error {
  /** @param {number} status @param {any} body */
  constructor(status, body) {
    super(body?.error_description || `the API answered ${status}`);
    this.status = status;
    /** @type {Record<string, string>} */
    this.fields = body && typeof body.fields === "object" && body.fields ? body.fields : {};
  }
}

/** @param {string} path @param {RequestInit} [init] */
async function api(path, init) {
  const response = await apiFetch(path, init);
  const body = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

/** @param {string} method @param {unknown} payload */
function sending(method, payload) {
  return {
    method,
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(payload),
  };
}

/** @param {string} message */
function announce(message) {
  live.textContent = message;
}

/** @param {string} message */
function showProblem(message) {
  if (!message) return problem.replaceChildren();
  problem.replaceChildren(element("p", "notice notice--error", message));
}

/** @param {unknown} error */
function describe(error) {
  if (error instanceof ApiError) return error.message;
  return "the API cannot be reached right now";
}

// Rendering: the same markup as the server's (frontend/templates/app.html's note_item)

/** @param {string} tag @param {string} [className] @param {string} [text] */
function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** @param {number} seconds @returns {string} "" for a time no date can hold */
function iso(seconds) {
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? "" : date.toISOString();
}

/** @param {number} seconds */
function utc(seconds) {
  const written = iso(seconds);
  return written ? `${written.slice(0, 16).replace("T", " ")} UTC` : "unknown";
}

/** @param {string} label @param {string} title @param {string} className */
function actionButton(label, title, className) {
  const button = element("button", `btn btn--small ${className}`, label);
  button.type = "button";
  button.append(element("span", "visually-hidden", ` “${title}”`));
  return button;
}

/** @param {Note} note */
function noteItem(note) {
  const item = element("li", "item-list__item note");
  item.dataset.id = note.id;
  const body = element("div", "item-list__body");
  body.append(element("h3", "item-list__title note-title", note.title));
  if (note.body) body.append(element("p", "note-body", note.body));
  const meta = element("p", "item-list__meta note-meta", "Updated ");
  const time = element("time", undefined, utc(note.updated_at));
  time.setAttribute("datetime", iso(note.updated_at));
  meta.append(time);
  body.append(meta);
  const actions = element("div", "item-list__actions note-actions");
  const edit = actionButton("Edit", note.title, "btn--secondary edit-note");
  const remove = actionButton("Delete", note.title, "btn--danger-outline delete-note");
  edit.addEventListener("click", () => startEditing(item, note));
  remove.addEventListener("click", () => deleteNote(item, note, remove));
  actions.append(edit, remove);
  item.append(body, actions);
  return item;
}

/** @param {Note[]} notes */
function showNotes(notes) {
  list.replaceChildren(...notes.map(noteItem));
  countChanged();
}

function countChanged() {
  const count = list.querySelectorAll(":scope > li").length;
  list.dataset.count = String(count);
  empty.hidden = count !== 0;
}

async function reloadNotes() {
  list.setAttribute("aria-busy", "true");
  retry.hidden = true;
  showProblem("");
  announce("Loading notes…");
  try {
    const { notes } = await api("/notes");
    showNotes(notes);
    announce(`${notes.length} notes loaded.`);
  } catch (error) {
    if (error instanceof SignedOutError) return;
    showProblem(`Notes unavailable: ${describe(error)}.`);
    retry.hidden = false;
  } finally {
    list.removeAttribute("aria-busy");
  }
}

// Field errors from the API's 422 `fields`

/**
 * @param {HTMLFormElement} target
 * @param {Record<string, string>} fields
 * @returns {boolean} whether a field took an error
 */
function showFieldErrors(target, fields) {
  let first = null;
  for (const control of target.querySelectorAll("input[name], textarea[name]")) {
    const input = /** @type {HTMLInputElement} */ (control);
    const message = fields[input.name];
    const slot = document.getElementById(input.getAttribute("aria-describedby") || "");
    if (slot) {
      slot.textContent = message ? `${capitalised(input.name)} ${message}.` : "";
      slot.hidden = !message;
    }
    if (message) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
    input.closest(".field")?.classList.toggle("field--invalid", Boolean(message));
    if (message && first === null) first = input;
  }
  first?.focus();
  return first !== null;
}

/** @param {string} name */
function capitalised(name) {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

/**
 * Sends a form's note: a 422 shows the API's own words beside each field.
 * @param {HTMLFormElement} target
 * @param {HTMLElement} formError
 * @param {() => Promise<Note>} send
 * @returns {Promise<Note | null>}
 */
async function submitNote(target, formError, send) {
  const submit = /** @type {HTMLButtonElement} */ (target.querySelector('[type="submit"]'));
  submit.disabled = true;
  target.setAttribute("aria-busy", "true");
  formError.textContent = "";
  showFieldErrors(target, {});
  try {
    return await send();
  } catch (error) {
    if (error instanceof SignedOutError) return null;
    const fields = error instanceof ApiError ? error.fields : {};
    if (!showFieldErrors(target, fields)) formError.textContent = `Not saved: ${describe(error)}.`;
    return null;
  } finally {
    submit.disabled = false;
    target.removeAttribute("aria-busy");
  }
}

/** @param {HTMLFormElement} target */
function values(target) {
  const data = new FormData(target);
  return { title: String(data.get("title") ?? ""), body: String(data.get("body") ?? "") };
}

async function addNote() {
  const formError = /** @type {HTMLElement} */ (document.getElementById("note-form-error"));
  const note = await submitNote(form, formError, () =>
    api("/notes", sending("POST", values(form))),
  );
  if (note === null) return;
  form.reset();
  list.prepend(noteItem(note));
  countChanged();
  announce(`Note “${note.title}” added.`);
  /** @type {HTMLElement} */ (form.querySelector("input[name=title]")).focus();
}

// Editing in place

/** @param {HTMLLIElement} item @param {Note} note */
function startEditing(item, note) {
  const editor = element("form", "note-editor form");
  editor.noValidate = true;
  editor.setAttribute("aria-label", `Edit note “${note.title}”`);
  const base = `edit-${note.id}`;
  editor.append(
    field(`${base}-title`, "Title", "input", note.title),
    field(`${base}-body`, "Body", "textarea", note.body),
  );
  const formError = element("p", "error");
  formError.setAttribute("role", "alert");
  const actions = element("div", "actions");
  const save = element("button", "btn btn--primary", "Save");
  save.setAttribute("type", "submit");
  const cancel = element("button", "btn btn--secondary", "Cancel");
  cancel.setAttribute("type", "button");
  actions.append(save, cancel);
  editor.append(formError, actions);

  const finish = (/** @type {Note} */ shown) => {
    const fresh = noteItem(shown);
    item.replaceWith(fresh);
    /** @type {HTMLElement} */ (fresh.querySelector(".edit-note")).focus();
  };
  cancel.addEventListener("click", () => finish(note));
  editor.addEventListener("keydown", (event) => {
    if (event.key === "Escape") finish(note);
  });
  editor.addEventListener("submit", async (event) => {
    event.preventDefault();
    const changed = values(editor);
    const patch = Object.fromEntries(
      Object.entries(changed).filter(
        ([key, value]) => value !== note[/** @type {"title"} */ (key)],
      ),
    );
    if (Object.keys(patch).length === 0) return finish(note); // nothing to send
    const path = `/notes/${encodeURIComponent(note.id)}`;
    const saved = await submitNote(editor, formError, () => api(path, sending("PATCH", patch)));
    if (saved === null) return;
    finish(saved);
    announce(`Note “${saved.title}” saved.`);
  });
  item.replaceChildren(editor);
  /** @type {HTMLElement} */ (editor.querySelector("input")).focus();
}

/**
 * @param {string} id
 * @param {string} label
 * @param {"input" | "textarea"} tag
 * @param {string} value
 */
function field(id, label, tag, value) {
  const wrapper = element("div", "field");
  const caption = element("label", "field__label", label);
  caption.setAttribute("for", id);
  const control = /** @type {HTMLInputElement} */ (document.createElement(tag));
  control.className = "field__input";
  control.id = id;
  control.name = label.toLowerCase();
  control.value = value;
  if (tag === "input") {
    control.type = "text";
    control.maxLength = 200;
    control.autocomplete = "off";
  } else {
    control.maxLength = 10_000;
    /** @type {HTMLTextAreaElement} */ (/** @type {unknown} */ (control)).rows = 3;
  }
  const error = element("p", "field-error");
  error.id = `${id}-error`;
  error.hidden = true;
  control.setAttribute("aria-describedby", error.id);
  wrapper.append(caption, control, error);
  return wrapper;
}

/** @param {HTMLLIElement} item @param {Note} note @param {HTMLButtonElement} button */
async function deleteNote(item, note, button) {
  button.disabled = true;
  showProblem("");
  try {
    await api(`/notes/${encodeURIComponent(note.id)}`, { method: "DELETE" });
  } catch (error) {
    button.disabled = false;
    if (error instanceof SignedOutError) return;
    showProblem(`Not deleted: ${describe(error)}.`);
    return;
  }
  // focus moves to the next note, or the previous, or the list's heading
  const neighbour = item.nextElementSibling || item.previousElementSibling;
  item.remove();
  countChanged();
  announce(`Note “${note.title}” deleted.`);
  const target = neighbour?.querySelector(".edit-note");
  (target instanceof HTMLElement ? target : heading).focus();
}

async function showConnection() {
  const status = /** @type {HTMLElement} */ (document.getElementById("status"));
  const me = /** @type {HTMLElement} */ (document.getElementById("me"));
  try {
    const seen = await api("/me");
    me.textContent = JSON.stringify(seen, null, 2);
    status.textContent =
      root.dataset.mode === "proxy"
        ? "Connected to the API through the BFF's /api/* proxy: no token in this page."
        : "Connected to the API directly with a token kept in this page's memory.";
    status.dataset.state = "ok";
    status.className = "";
  } catch (error) {
    if (error instanceof SignedOutError) return;
    status.textContent = `Could not reach the API: ${describe(error)}.`;
    status.dataset.state = "error";
    status.className = "error";
  }
}

function start() {
  configure({
    mode: root.dataset.mode === "proxy" ? "proxy" : "token",
    api: root.dataset.api || "",
  });
  const initial = JSON.parse(document.getElementById("initial-notes")?.textContent || "null");
  if (Array.isArray(initial)) {
    showNotes(initial); // the server's notes, now with working buttons
  } else {
    retry.hidden = false; // the server could not list them: the page says why, and can retry
  }
  retry.addEventListener("click", reloadNotes);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    addNote();
  });
  showConnection();
}

start();
