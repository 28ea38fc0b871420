"""Browser checks for journeys in Playwright, for any application on the BFF:

- `watch_csp(context)`: every Content-Security-Policy violation in any page of the context, from
  an init script listening for `securitypolicyviolation` (it runs again in every new document,
  so it survives navigations) and reporting through `context.expose_binding`. A report still
  on its way when its document is left (a violation in the moment before a navigation) is lost
  with the document.
- `stored_tokens(page)` / `assert_no_token_stored(page)`: where a JWT (every one starts with
  `eyJ`, base64url of `{"`) can be read in the page: localStorage, sessionStorage, every
  IndexedDB database, `document.cookie`, the DOM (`page.content()`). DESIGN §1: a token lives in a
  JS closure, never where an injected script could lift it from storage.
- `axe_violations(page)`: axe-core's violations of the impacts asked for (serious and critical by
  default). axe is injected with `page.evaluate(source)`: the DevTools protocol's evaluation is
  not subject to the page's CSP, where a `<script>` tag without the page's nonce would be refused
  (and be a CSP violation itself).
- `BrowserWatch`: the first two over every context attached to it, for an after-each-test check.

Messages name the place where a token was found, never the token.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

JWT_PREFIX = "eyJ"
CSP_BINDING = "__bffTestingCspViolation"
# where pytest runs, in a checkout that installed frontend/package.json (`npm ci`)
AXE_SOURCE = Path("frontend/node_modules/axe-core/axe.min.js")
SERIOUS = ("serious", "critical")

_CSP_LISTENER = f"""
document.addEventListener("securitypolicyviolation", (event) => {{
  window.{CSP_BINDING}({{
    document: event.documentURI,
    directive: event.effectiveDirective,
    blocked: event.blockedURI,
    source: event.sourceFile,
    line: event.lineNumber,
    sample: event.sample,
    disposition: event.disposition,
  }});
}}, true);
"""

# every readable store of the page, as (place, text) pairs; a store the page's origin may not
# open (an opaque origin: about:blank, a data: URL) holds nothing it could leak
_STORED_TEXTS = """
async (prefix) => {
  const found = [];
  const label = (key) => (key.includes(prefix) ? "a key holding a JWT" : key);
  const text = (value) => {
    if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) {
      return new TextDecoder().decode(value);
    }
    try { return JSON.stringify(value) ?? String(value); } catch { return String(value); }
  };
  for (const [name, storage] of [["localStorage", () => localStorage],
                                 ["sessionStorage", () => sessionStorage]]) {
    try {
      const store = storage();
      for (let i = 0; i < store.length; i++) {
        const key = store.key(i);
        found.push([`${name}[${label(key)}]`, key + " " + store.getItem(key)]);
      }
    } catch { /* no storage for this origin */ }
  }
  try { found.push(["document.cookie", document.cookie]); } catch { /* opaque origin */ }
  let databases = [];
  try { databases = await indexedDB.databases(); } catch { /* opaque origin */ }
  for (const { name } of databases) {
    const db = await new Promise((resolve, reject) => {
      const opening = indexedDB.open(name);
      opening.onsuccess = () => resolve(opening.result);
      opening.onerror = () => reject(opening.error);
    });
    try {
      for (const storeName of db.objectStoreNames) {
        const store = db.transaction(storeName, "readonly").objectStore(storeName);
        const read = (request) => new Promise((resolve, reject) => {
          request.onsuccess = () => resolve(request.result);
          request.onerror = () => reject(request.error);
        });
        const [keys, values] = [await read(store.getAllKeys()), await read(store.getAll())];
        found.push([`indexedDB ${label(name)}/${label(storeName)}`,
                    [...keys, ...values].map(text).join(" ")]);
      }
    } finally {
      db.close();
    }
  }
  return found;
}
"""

_RUN_AXE = """
async (impacts) => {
  const results = await axe.run(document, { resultTypes: ["violations"] });
  return results.violations
    .filter((violation) => impacts.includes(violation.impact))
    .map((violation) => ({
      id: violation.id,
      impact: violation.impact,
      help: violation.help,
      helpUrl: violation.helpUrl,
      nodes: violation.nodes.map((node) => ({
        target: node.target.map(String),
        html: node.html,
        summary: node.failureSummary ?? "",
      })),
    }));
}
"""


class CspViolation(TypedDict):
    document: str
    directive: str
    blocked: str
    source: str
    line: int
    sample: str
    disposition: str


class AxeNode(TypedDict):
    target: list[str]
    html: str
    summary: str


class AxeViolation(TypedDict):
    id: str
    impact: str
    help: str
    helpUrl: str
    nodes: list[AxeNode]


def watch_csp(context: BrowserContext) -> list[CspViolation]:
    """A list that every CSP violation in the context's pages (those open now and any opened
    later, in every frame and after every navigation) is appended to as it happens."""
    violations: list[CspViolation] = []

    def report(_source: Any, violation: CspViolation) -> None:
        violations.append(violation)

    context.expose_binding(CSP_BINDING, report)
    context.add_init_script(_CSP_LISTENER)
    return violations


def stored_tokens(page: Page) -> list[str]:
    """The places in `page` where a JWT can be read: empty when there is none."""
    stored: list[list[str]] = page.evaluate(_STORED_TEXTS, JWT_PREFIX)
    places = [place for place, text in stored if JWT_PREFIX in text]
    if JWT_PREFIX in page.content():
        places.append("page.content()")
    return places


def assert_no_token_stored(page: Page) -> None:
    """Fail (AssertionError) when a JWT can be read anywhere `stored_tokens` looks."""
    places = stored_tokens(page)
    if places:
        raise AssertionError(f"a JWT is readable in {page.url}: in {', '.join(places)}")


def axe_violations(
    page: Page, *, source: Path = AXE_SOURCE, impacts: tuple[str, ...] = SERIOUS
) -> list[AxeViolation]:
    """axe-core's violations in `page` (as it is now) of the given impacts. `source` is
    axe.min.js, by default `frontend/node_modules/axe-core/axe.min.js` under the working
    directory."""
    page.evaluate(_axe_source(source.resolve()))
    violations: list[AxeViolation] = page.evaluate(_RUN_AXE, list(impacts))
    return violations


def describe(violations: list[AxeViolation]) -> str:
    """One line per violation and node, for an assertion message."""
    return "\n".join(
        f"{v['impact']} {v['id']}: {v['help']} at {' '.join(node['target'])}: {node['summary']}"
        for v in violations
        for node in v["nodes"]
    )


@dataclass
class BrowserWatch:
    """CSP violations and stored tokens across every context attached to it: `check` fails when
    any context saw a violation or any page still open holds a readable token."""

    contexts: list[tuple[BrowserContext, list[CspViolation]]] = field(default_factory=list)

    def attach(self, context: BrowserContext) -> None:
        self.contexts.append((context, watch_csp(context)))

    @property
    def violations(self) -> list[CspViolation]:
        return [violation for _, seen in self.contexts for violation in seen]

    def pages(self) -> list[Page]:
        return [page for context, _ in self.contexts for page in context.pages]

    def check(self) -> None:
        violations = self.violations
        if violations:
            raise AssertionError(f"{len(violations)} CSP violation(s): {violations}")
        for page in self.pages():
            if not page.is_closed():
                assert_no_token_stored(page)


@functools.cache
def _axe_source(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(
            f"axe-core not found at {path}: run `npm ci` where its package.json is "
            "(here: frontend/), or pass source="
        ) from None
