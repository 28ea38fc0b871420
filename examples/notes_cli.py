"""A command-line client of the notes API, signed in with the OAuth 2 device flow (RFC 8628).

    python examples/notes_cli.py [--issuer URL] [--api URL] [--client-id ID] COMMAND
    COMMAND: login | notes list | notes add TITLE [--body TEXT] | logout

A public client: a program on the user's machine cannot keep a secret, so what it holds is the
user's grant itself, a rotating refresh token. It lives only in an owner-only file (0600 from its
first byte, in a 0700 directory) under $XDG_CONFIG_HOME/notes-cli/, replaced atomically, and is
sent only to the issuer that gave it; no token is ever printed. The access token is renewed
shortly before it expires and once on a 401; a refused refresh (revoked, reused, expired) deletes
the file and says the user is signed out.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import secrets
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

DEFAULT_ISSUER = "http://127.0.0.1:8000"
DEFAULT_API = "http://127.0.0.1:8001"
DEFAULT_CLIENT_ID = "notes-cli"
SCOPE = "notes:read notes:write"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
METADATA_PATH = "/.well-known/oauth-authorization-server"
CONFIG_DIR = "notes-cli"
CREDENTIALS_FILE = "credentials.json"
LOCK_FILE = "credentials.lock"
STORED_STRINGS = ("refresh_token", "access_token", "issuer", "client_id")
REFRESH_MARGIN = 30  # seconds before its expiry when an access token is renewed
DEFAULT_INTERVAL = 5  # RFC 8628 §3.2, when the server names none
SLOW_DOWN_STEP = 5  # RFC 8628 §3.5
TIMEOUT = 10.0
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

SIGNED_OUT = "You are signed out (the app was revoked or expired). Run `notes_cli.py login`."
NOT_SIGNED_IN = "You are not signed in. Run `notes_cli.py login`."
LOGIN_FAILURES = {
    "access_denied": "The sign-in was denied in the browser. Nothing was stored.",
    "expired_token": "The code expired before it was approved. Run `notes_cli.py login` again.",
}

Json = dict[str, Any]
Clock = Callable[[], float]
Sleep = Callable[[float], None]


class CliError(Exception):
    """What the CLI tells the user, on stderr, before it exits with status 1."""


class SignedOut(CliError):
    def __init__(self) -> None:
        super().__init__(SIGNED_OUT)


class OAuthRefusal(CliError):
    """An OAuth error answer (RFC 6749 §5.2, RFC 8628 §3.5); `error` is its code."""

    def __init__(self, error: str, description: str) -> None:
        detail = f": {printable(description)}" if description else ""
        super().__init__(f"The server refused ({printable(error)}){detail}")
        self.error = error


@dataclass(frozen=True, kw_only=True)
class Settings:
    issuer: str
    api: str
    client_id: str
    credentials: Path

    @classmethod
    def resolve(cls, args: argparse.Namespace, env: Mapping[str, str]) -> Settings:
        # a flag beats the environment, which beats the default
        return cls(
            issuer=checked_url(args.issuer or env.get("NOTES_ISSUER") or DEFAULT_ISSUER),
            api=checked_url(args.api or env.get("NOTES_API") or DEFAULT_API),
            client_id=args.client_id or env.get("NOTES_CLIENT_ID") or DEFAULT_CLIENT_ID,
            credentials=credentials_path(env),
        )


def checked_url(url: str) -> str:
    """`url` without a trailing slash; plain http only on loopback, where nothing listens in."""
    parsed = httpx.URL(url)
    if parsed.scheme == "https" or (parsed.scheme == "http" and parsed.host in LOOPBACK_HOSTS):
        return url.rstrip("/")
    raise CliError(f"Refusing {url}: tokens travel only over https (or http on loopback).")


def credentials_path(env: Mapping[str, str]) -> Path:
    configured = env.get("XDG_CONFIG_HOME", "")
    # the XDG base directory spec: a relative value is invalid and ignored
    base = Path(configured) if os.path.isabs(configured) else Path.home() / ".config"
    return base / CONFIG_DIR / CREDENTIALS_FILE


@dataclass(frozen=True, kw_only=True)
class Credentials:
    """The stored grant. The tokens stay out of repr, so no traceback or debug print shows them."""

    refresh_token: str = field(repr=False)
    access_token: str = field(repr=False)
    expires_at: float
    issuer: str
    client_id: str

    def usable(self, now: float) -> bool:
        return now < self.expires_at - REFRESH_MARGIN

    def serialized(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def parsed(cls, text: str) -> Credentials:
        data = json.loads(text)
        strings = {name: data[name] for name in STORED_STRINGS}
        expires_at = data["expires_at"]
        if not all(isinstance(v, str) and v for v in strings.values()):
            raise ValueError("a credential field is not a string")
        if not isinstance(expires_at, int | float):
            raise ValueError("expires_at is not a number")
        return cls(**strings, expires_at=float(expires_at))


class CredentialFile:
    """The grant on disk: one JSON file, owner-only from its first byte, replaced atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> Credentials | None:
        try:
            return Credentials.parsed(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError):
            raise CliError(f"{self.path} is unreadable. Run `notes_cli.py login`.") from None

    def save(self, credentials: Credentials) -> None:
        temporary = self._directory() / f".{CREDENTIALS_FILE}.{secrets.token_hex(8)}"
        # 0600 from creation, not chmod afterwards: there is no moment others could read it;
        # O_EXCL: never an existing file, nor a link someone planted
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                file.write(credentials.serialized())
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self.path)  # a reader sees the old grant or the new, never half
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise

    def delete(self) -> None:
        self.path.unlink(missing_ok=True)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Held across a refresh: two runs at once must not both spend one refresh token (the
        second would look like a stolen token's reuse, and the server would end the grant)."""
        fd = os.open(self._directory() / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _directory(self) -> Path:
        directory = self.path.parent
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(directory, 0o700)  # a directory that was already there is tightened too
        return directory


@dataclass(frozen=True, kw_only=True)
class DeviceStart:
    device_code: str = field(repr=False)
    user_code: str
    verification_uri: str
    verification_uri_complete: str
    expires_in: int
    interval: int

    @classmethod
    def parsed(cls, answer: Json) -> DeviceStart:
        uri = str(answer["verification_uri"])
        return cls(
            device_code=str(answer["device_code"]),
            user_code=printable(str(answer["user_code"])),
            verification_uri=printable(uri),
            verification_uri_complete=printable(str(answer.get("verification_uri_complete", uri))),
            expires_in=int(answer["expires_in"]),
            interval=int(answer.get("interval", DEFAULT_INTERVAL)),
        )


class AuthServer:
    """The issuer's OAuth endpoints, found once in its RFC 8414 metadata, for one public client:
    every form names the client, and carries no secret, since a public client has none."""

    def __init__(self, http: httpx.Client, *, issuer: str, client_id: str) -> None:
        self.issuer = issuer
        self.client_id = client_id
        self._http = http
        self._metadata: Json | None = None

    def owns(self, credentials: Credentials) -> bool:
        return (credentials.issuer, credentials.client_id) == (self.issuer, self.client_id)

    def start_device_flow(self) -> DeviceStart:
        answer = self._answer(self._post("device_authorization_endpoint", {"scope": SCOPE}))
        try:
            return DeviceStart.parsed(answer)
        except (KeyError, TypeError, ValueError):
            raise CliError("The server's device authorization answer is malformed.") from None

    def grant(self, form: Mapping[str, str], *, now: float, previous: str = "") -> Credentials:
        """The token endpoint's grant as credentials; `previous` stays the refresh token when the
        server does not rotate it (RFC 6749 §6 allows that)."""
        answer = self._answer(self._post("token_endpoint", form))
        access, expires_in = answer.get("access_token"), answer.get("expires_in")
        refresh = answer.get("refresh_token", previous)
        if not (isinstance(access, str) and isinstance(refresh, str) and refresh):
            raise CliError("The server's token answer holds no access or refresh token.")
        if not isinstance(expires_in, int):
            raise CliError("The server's token answer gives no lifetime.")
        return Credentials(
            refresh_token=refresh,
            access_token=access,
            expires_at=now + expires_in,
            issuer=self.issuer,
            client_id=self.client_id,
        )

    def revoke(self, refresh_token: str) -> None:
        """RFC 7009; the refresh token names the whole grant, so its access tokens end too."""
        form = {"token": refresh_token, "token_type_hint": "refresh_token"}
        self._answer(self._post("revocation_endpoint", form))

    def _post(self, endpoint: str, form: Mapping[str, str]) -> httpx.Response:
        url = self._endpoint(endpoint)
        return send(self._http, "POST", url, data={**form, "client_id": self.client_id})

    def _answer(self, response: httpx.Response) -> Json:
        answer = json_of(response)  # {} for the empty body of a revocation
        if response.status_code == 200:
            return answer
        error = answer.get("error")
        if not isinstance(error, str):
            raise CliError(f"The server answered {response.status_code} to {response.url.path}.")
        raise OAuthRefusal(error, str(answer.get("error_description", "")))

    def _endpoint(self, name: str) -> str:
        if self._metadata is None:
            response = send(self._http, "GET", self.issuer + METADATA_PATH)
            metadata = json_of(response)
            # RFC 8414 §3.3: metadata naming another issuer is not this issuer's
            if response.status_code != 200 or metadata.get("issuer") != self.issuer:
                raise CliError(f"{self.issuer} serves no authorization server metadata of its own.")
            self._metadata = metadata
        url = self._metadata.get(name)
        if not isinstance(url, str):
            raise CliError(f"{self.issuer} offers no {name.replace('_', ' ')}.")
        return checked_url(url)


class NotesApi:
    """The notes API with the stored grant: the access token until shortly before it expires,
    then a refresh; a 401 gets one refresh and one retry."""

    def __init__(
        self,
        http: httpx.Client,
        *,
        base_url: str,
        server: AuthServer,
        store: CredentialFile,
        now: Clock,
    ) -> None:
        self._http = http
        self._base_url = base_url
        self._server = server
        self._store = store
        self._now = now

    def call(self, method: str, path: str, body: Json | None = None) -> Json:
        credentials = self._credentials()
        response = self._send(method, path, body, credentials)
        if response.status_code == 401:  # revoked, or ended early: a fresh token settles which
            response = self._send(method, path, body, self._refreshed(credentials))
        if not response.is_success:
            raise CliError(api_failure(response))
        return json_of(response)

    def _send(
        self, method: str, path: str, body: Json | None, credentials: Credentials
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {credentials.access_token}"}
        return send(self._http, method, self._base_url + path, json=body, headers=headers)

    def _credentials(self) -> Credentials:
        credentials = signed_in(self._store, self._server)
        return credentials if credentials.usable(self._now()) else self._refreshed(credentials)

    def _refreshed(self, stale: Credentials) -> Credentials:
        with self._store.locked():
            current = signed_in(self._store, self._server)
            if current.refresh_token != stale.refresh_token:
                return current  # another run rotated it while this one waited for the lock
            form = {"grant_type": "refresh_token", "refresh_token": current.refresh_token}
            try:
                fresh = self._server.grant(form, now=self._now(), previous=current.refresh_token)
            except OAuthRefusal as refusal:
                if refusal.error != "invalid_grant":
                    raise
                self._store.delete()  # the grant is over at the server: its copy here goes too
                raise SignedOut() from None
            # rotation spent the old refresh token: the new one is stored before anything else
            self._store.save(fresh)
            return fresh


def signed_in(store: CredentialFile, server: AuthServer) -> Credentials:
    credentials = store.load()
    if credentials is None:
        raise CliError(NOT_SIGNED_IN)
    # a refresh token goes only to the issuer, and for the client, that issued it
    if not server.owns(credentials):
        raise CliError(
            f"You are signed in to {credentials.issuer} as {credentials.client_id}, not to "
            f"{server.issuer} as {server.client_id}. Run `notes_cli.py login`."
        )
    return credentials


def send(http: httpx.Client, method: str, url: str, **options: Any) -> httpx.Response:
    try:
        return http.request(method, url, **options)
    except httpx.HTTPError as exc:
        # an httpx error names the failure, never a header or a form field
        raise CliError(f"Cannot reach {url}: {exc}") from None


def json_of(response: httpx.Response) -> Json:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def api_failure(response: httpx.Response) -> str:
    status = response.status_code
    if status == 401:
        return "The notes API refused even a renewed token (401)."
    if status >= 500:
        return f"The notes API is unavailable ({status}). Try again shortly."
    answer = json_of(response)
    detail = answer.get("error_description") or answer.get("error") or response.reason_phrase
    return f"The notes API refused the request ({status}): {printable(str(detail))}"


def printable(text: str) -> str:
    """Text from a server without control characters: nothing it says can drive the terminal."""
    return "".join(ch if ch.isprintable() else "?" for ch in text)


def say(text: str) -> None:
    print(text, flush=True)  # flushed: whoever reads the code from a pipe sees it at once


def login(server: AuthServer, store: CredentialFile, *, now: Clock, sleep: Sleep) -> None:
    replaced = previous_grant(store, server)
    started = server.start_device_flow()
    say(f"To sign in, open {started.verification_uri} and enter the code {started.user_code}")
    say(f"  (or open {started.verification_uri_complete})")
    say("Approve it only if you started this sign-in yourself. Waiting for approval...")
    credentials = await_approval(server, started, now=now, sleep=sleep)
    store.save(credentials)
    if replaced is not None:
        # best effort: a grant nobody holds any more should not stay live on the server
        with contextlib.suppress(CliError):
            server.revoke(replaced.refresh_token)
    say(f"Signed in to {server.issuer}. Credentials saved in {store.path} (owner-only).")


def previous_grant(store: CredentialFile, server: AuthServer) -> Credentials | None:
    """The grant a new login replaces, when it is this server's (an unreadable file holds none)."""
    try:
        credentials = store.load()
    except CliError:
        return None
    return credentials if credentials is not None and server.owns(credentials) else None


def await_approval(
    server: AuthServer, started: DeviceStart, *, now: Clock, sleep: Sleep
) -> Credentials:
    """Poll the token endpoint at the server's pace (RFC 8628 §3.4, §3.5)."""
    interval = started.interval
    deadline = now() + started.expires_in
    form = {"grant_type": DEVICE_GRANT, "device_code": started.device_code}
    while now() < deadline:
        sleep(interval)
        try:
            return server.grant(form, now=now())
        except OAuthRefusal as refusal:
            if refusal.error == "slow_down":
                interval += SLOW_DOWN_STEP
            elif refusal.error != "authorization_pending":
                raise CliError(LOGIN_FAILURES.get(refusal.error, str(refusal))) from None
    raise CliError(LOGIN_FAILURES["expired_token"])


def logout(server: AuthServer, store: CredentialFile) -> None:
    credentials = signed_in(store, server)
    try:
        server.revoke(credentials.refresh_token)
    except CliError as failure:
        # the file stays: deleting it would leave the grant live with no way to end it from here
        raise CliError(f"{failure} The credentials are kept: run `logout` again.") from None
    store.delete()
    say("Signed out: the app's access is revoked and its credentials deleted.")


def list_notes(api: NotesApi) -> None:
    notes = api.call("GET", "/notes").get("notes") or []
    if not notes:
        say("No notes yet.")
    for note in notes:
        say(note_line(note))


def add_note(api: NotesApi, title: str, body: str) -> None:
    say(f"Added {note_line(api.call('POST', '/notes', {'title': title, 'body': body}))}")


def note_line(note: Json) -> str:
    created = datetime.fromtimestamp(int(note.get("created_at", 0))).strftime("%Y-%m-%d %H:%M")
    return printable(f"{note.get('id')}  {created}  {note.get('title')}")


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(
        prog="notes_cli.py", description="Your notes from the command line, signed in by code."
    )
    option = cli.add_argument
    option("--issuer", metavar="URL", help=f"sign-in server [$NOTES_ISSUER, {DEFAULT_ISSUER}]")
    option("--api", metavar="URL", help=f"notes API [$NOTES_API, {DEFAULT_API}]")
    option("--client-id", metavar="ID", help=f"client id [$NOTES_CLIENT_ID, {DEFAULT_CLIENT_ID}]")
    commands = cli.add_subparsers(dest="command", required=True)
    commands.add_parser("login", help="sign in with a code you approve in a browser")
    commands.add_parser("logout", help="revoke this app's access and delete its credentials")
    notes = commands.add_parser("notes", help="read and write your notes")
    actions = notes.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="your notes, newest first")
    add = actions.add_parser("add", help="add a note")
    add.add_argument("title", help="1 to 200 characters")
    add.add_argument("--body", metavar="TEXT", default="", help="the note's text (none by default)")
    return cli


def run(args: argparse.Namespace, settings: Settings, http: httpx.Client) -> None:
    store = CredentialFile(settings.credentials)
    server = AuthServer(http, issuer=settings.issuer, client_id=settings.client_id)
    if args.command == "login":
        login(server, store, now=time.time, sleep=time.sleep)
    elif args.command == "logout":
        logout(server, store)
    else:
        api = NotesApi(http, base_url=settings.api, server=server, store=store, now=time.time)
        if args.action == "list":
            list_notes(api)
        else:
            add_note(api, args.title, args.body)


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = Settings.resolve(args, os.environ if env is None else env)
        with httpx.Client(timeout=TIMEOUT) as http:
            run(args, settings, http)
    except CliError as failure:
        print(failure, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
