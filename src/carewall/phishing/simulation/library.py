"""Simulation templates: the shipped scenario library (`scenarios/*.yaml`) and edited clones.

A scenario's body is written once in Markdown; the HTML and the plain-text
parts of the message are made from it. Red flags quote the template's own
text (with placeholders), so the teachable moment can show the message again
with each flag highlighted where it occurs. Template HTML, shipped or edited,
is sanitised with Ammonia (nh3): no scripts, no styles, no images or other
remote content, links only to http(s) and mailto.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import nh3
import yaml
from markdown_it import MarkdownIt

from carewall.core.errors import NotFoundError, ValidationError

_PACKAGE = "carewall.phishing.simulation.scenarios"
LANDINGS = ("credentials", "page", "none")
DIFFICULTIES = ("easy", "medium", "hard")
_SENTINEL = "https://link.carewall.invalid/"
_TAGS = {
    "a",
    "b",
    "blockquote",
    "br",
    "div",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "hr",
    "i",
    "li",
    "ol",
    "p",
    "span",
    "strong",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "u",
    "ul",
}
_ATTRIBUTES = {"a": {"href", "title"}, "td": {"colspan"}, "th": {"colspan"}}
FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,30}$")


@dataclass(frozen=True, slots=True)
class LandingPage:
    """The page a click leads to: an imitation sign-in form (`fields`) or a plain page."""

    brand: str = ""
    heading: str = ""
    intro: str = ""
    fields: tuple[str, ...] = ()
    button: str = ""


@dataclass(frozen=True, slots=True)
class RedFlag:
    """A quote from the template's own text and why it gives the message away."""

    quote: str
    why: str


@dataclass(frozen=True, slots=True)
class Scenario:
    """A template: what the message says, where its link leads, and how to teach about it."""

    id: str
    title: str
    difficulty: str
    landing: str
    remedial: str
    sender_name: str
    sender_address: str
    subject: str
    html: str
    text: str
    link_path: str
    landing_page: LandingPage
    red_flags: tuple[RedFlag, ...]
    builtin: bool = True
    base_id: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_content(self) -> dict[str, Any]:
        """The JSON form stored in a campaign's snapshot and an edited template's row."""
        data = asdict(self)
        data.pop("extra")
        return data


def sanitize_html(html: str) -> str:
    """Template HTML made safe to store, preview and send (placeholders survive)."""
    return (
        nh3.clean(
            html,
            tags=_TAGS,
            attributes=_ATTRIBUTES,
            url_schemes={"http", "https", "mailto"},
            link_rel="noopener noreferrer",
            strip_comments=True,
        )
        .replace("%7B%7B", "{{")
        .replace("%7D%7D", "}}")
    )


def _markdown_to_html(body: str) -> str:
    rendered = MarkdownIt("commonmark", {"html": False}).render(body.replace("{{link}}", _SENTINEL))
    return sanitize_html(rendered.replace(_SENTINEL, "{{link}}"))


_MD_LINK = re.compile(r"\[([^\]]+)\]\(([^)]+)\)")


def _markdown_to_text(body: str) -> str:
    text = _MD_LINK.sub(lambda m: f"{m.group(1)}: {m.group(2)}", body)
    return text.replace("**", "").strip() + "\n"


def from_content(data: dict[str, Any], *, builtin: bool) -> Scenario:
    """A scenario from its stored or shipped mapping (ValidationError when malformed)."""
    try:
        page = data.get("landing_page") or {}
        scenario = Scenario(
            id=str(data["id"]),
            title=str(data["title"]),
            difficulty=str(data["difficulty"]),
            landing=str(data["landing"]),
            remedial=str(data.get("remedial") or "phishing-red-flags"),
            sender_name=str(data["sender_name"]),
            sender_address=str(data["sender_address"]),
            subject=str(data["subject"]),
            html=str(data["html"]),
            text=str(data["text"]),
            link_path=str(data.get("link_path") or ""),
            landing_page=LandingPage(
                brand=str(page.get("brand") or ""),
                heading=str(page.get("heading") or ""),
                intro=str(page.get("intro") or ""),
                fields=tuple(str(f) for f in page.get("fields") or ()),
                button=str(page.get("button") or ""),
            ),
            red_flags=tuple(RedFlag(str(f["quote"]), str(f["why"])) for f in data["red_flags"]),
            builtin=builtin,
            base_id=str(data.get("base_id") or data["id"]),
        )
    except (KeyError, TypeError) as exc:
        raise ValidationError(f"The template is missing {exc}.") from exc
    check(scenario)
    return scenario


def check(scenario: Scenario) -> None:
    """Refuse a template that cannot work (ValidationError names the problem)."""
    if scenario.landing not in LANDINGS:
        raise ValidationError(f"landing must be one of {', '.join(LANDINGS)}.")
    if scenario.difficulty not in DIFFICULTIES:
        raise ValidationError(f"difficulty must be one of {', '.join(DIFFICULTIES)}.")
    if scenario.landing != "none" and "{{link}}" not in scenario.html + scenario.text:
        raise ValidationError("A template with a landing page needs a {{link}} in its body.")
    if scenario.landing == "credentials" and not scenario.landing_page.fields:
        raise ValidationError("A sign-in landing page needs at least one field.")
    bad = [f for f in scenario.landing_page.fields if not FIELD_NAME.match(f)]
    if bad:
        raise ValidationError(f"Field names are short lower-case words: {bad[0]!r} is not.")
    if not scenario.subject.strip() or len(scenario.subject) > 200:
        raise ValidationError("The subject must be 1 to 200 characters.")


def _load_builtin(text: str, name: str) -> Scenario:
    raw = yaml.safe_load(text)
    if not isinstance(raw, dict):
        raise ValueError(f"{name}: not a mapping")
    body = str(raw.pop("body"))
    raw["html"] = _markdown_to_html(body)
    raw["text"] = _markdown_to_text(body)
    return from_content(raw, builtin=True)


@cache
def builtin_scenarios() -> dict[str, Scenario]:
    """The shipped library by id, in file-name order."""
    found: dict[str, Scenario] = {}
    for entry in sorted(resources.files(_PACKAGE).iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            scenario = _load_builtin(entry.read_text(encoding="utf-8"), entry.name)
            found[scenario.id] = scenario
    return found


def builtin(scenario_id: str) -> Scenario:
    """A shipped scenario, or NotFoundError naming the ones that exist."""
    try:
        return builtin_scenarios()[scenario_id]
    except KeyError:
        known = ", ".join(builtin_scenarios())
        raise NotFoundError(f"No template is called {scenario_id!r}. Templates: {known}.") from None
