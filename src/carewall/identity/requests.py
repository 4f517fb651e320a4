"""Who is asking, for the audit trail: the web and CLI layers fill this in."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Origin:
    """Source of a request: IP address and user agent (CLI: 'cli')."""

    ip: str = ""
    user_agent: str = ""

    @property
    def device(self) -> str:
        """A short device description for the sessions page."""
        return describe_user_agent(self.user_agent)


def describe_user_agent(user_agent: str) -> str:
    """'Chrome on Windows' from a user-agent string, good enough for people to recognise."""
    ua = user_agent.lower()
    browser = next(
        (name for key, name in _BROWSERS if key in ua), "Command line" if ua == "cli" else "Browser"
    )
    system = next((name for key, name in _SYSTEMS if key in ua), "")
    return f"{browser} on {system}" if system else browser


_BROWSERS = [
    ("edg/", "Edge"),
    ("firefox/", "Firefox"),
    ("chrome/", "Chrome"),
    ("safari/", "Safari"),
    ("python-httpx", "Script"),
    ("curl/", "curl"),
]
_SYSTEMS = [
    ("windows", "Windows"),
    ("android", "Android"),
    ("iphone", "iPhone"),
    ("ipad", "iPad"),
    ("mac os", "macOS"),
    ("linux", "Linux"),
]
