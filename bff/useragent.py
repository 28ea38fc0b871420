"""A short "browser on OS" label from a User-Agent header, for the devices page.

The header is attacker-controlled, so the label is built only from this module's fixed words:
no part of the header itself ever reaches the label. Best effort, no dependency.
"""

from __future__ import annotations

UNKNOWN = "Unknown"

# order matters: Edge and Opera also say "Chrome", Chrome also says "Safari"
_BROWSERS: tuple[tuple[str, str], ...] = (
    ("edg/", "Edge"),
    ("edga/", "Edge"),
    ("edgios/", "Edge"),
    ("opr/", "Opera"),
    ("samsungbrowser/", "Samsung Internet"),
    ("firefox/", "Firefox"),
    ("fxios/", "Firefox"),
    ("crios/", "Chrome"),
    ("chromium/", "Chromium"),
    ("chrome/", "Chrome"),
    ("safari/", "Safari"),
)

# order matters: Android and ChromeOS also say "Linux", iOS also says "Mac OS X"
_SYSTEMS: tuple[tuple[str, str], ...] = (
    ("windows", "Windows"),
    ("android", "Android"),
    ("iphone", "iOS"),
    ("ipad", "iPadOS"),
    ("cros", "ChromeOS"),
    ("macintosh", "macOS"),
    ("mac os x", "macOS"),
    ("linux", "Linux"),
)

_TOOLS: tuple[tuple[str, str], ...] = (
    ("curl/", "curl"),
    ("wget/", "Wget"),
    ("httpie/", "HTTPie"),
    ("python-httpx/", "httpx"),
    ("python-requests/", "Python requests"),
)


def summarize(user_agent: str) -> str:
    """A label such as "Firefox on Windows", "curl" or "Unknown"."""
    text = user_agent.lower()
    tool = _first(text, _TOOLS, startswith=True)
    if tool:
        return tool
    browser = _first(text, _BROWSERS)
    system = _first(text, _SYSTEMS)
    if browser and system:
        return f"{browser} on {system}"
    return browser or (f"Browser on {system}" if system else UNKNOWN)


def _first(text: str, table: tuple[tuple[str, str], ...], *, startswith: bool = False) -> str:
    for needle, label in table:
        if text.startswith(needle) if startswith else needle in text:
            return label
    return ""
