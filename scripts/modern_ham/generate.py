"""Generate Carewall's modern legitimate-mail sets (development and kept-aside).

Run: ``uv run python scripts/modern_ham/generate.py`` (writes
``tests/data/modern_ham/`` and ``tests/data/modern_ham_holdout/``).

Every message is built here from phrasing written for Carewall
(``phrases.py``), fictional organisations and people (``senders.py``) and the
real platforms' own addresses and link hosts, in six languages, with the
headers real senders add (DKIM signatures of the sender and its email
service, bounce addresses, List-* headers, ARC on list mail, DMARC
From-rewriting by lists, preheaders, tracking pixels, click-tracking links).
Signatures are syntactically real but not valid: nothing can verify them.

The holdout set uses another seed, the last phrasing of every list, its own
senders and an HTML layout the development set never uses, so tuning on
the development set cannot fit it.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import random
import sys
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import format_datetime, formataddr
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import phrases
import senders
from senders import Org

REPO = Path(__file__).resolve().parents[2]
#: Long DKIM values are folded by hand; the policy must not turn them into encoded words.
POLICY = default_policy.clone(max_line_length=998)
LANGS = ("en", "nl", "pt", "fr", "de", "es")
KIND_WEIGHTS = {
    "receipt": 9, "invoice": 8, "dunning": 8, "password_reset": 8, "signin_alert": 8, "quota": 6,
    "invite": 9, "lab": 7, "claims": 7, "order": 8, "payroll": 6, "newsletter": 9, "list_post": 9,
}  # fmt: skip
LANG_WEIGHTS = {"en": 5, "nl": 2, "pt": 2, "fr": 2, "de": 2, "es": 2}
VENDOR_KINDS = {"lab", "claims", "newsletter"}


class Split:
    """Which phrasing, senders and layouts a set may use."""

    def __init__(self, holdout: bool) -> None:
        self.holdout = holdout

    def pick(self, rng: random.Random, options: list[str]) -> str:
        """Development: any entry but the last. Holdout: the last entry only."""
        if len(options) == 1:
            return options[0]
        return options[-1] if self.holdout else rng.choice(options[:-1])

    def pool(self, items: list[Org]) -> list[Org]:
        """Development: the first two thirds of a sender list; holdout: the rest."""
        cut = max(1, (len(items) * 2) // 3)
        return items[cut:] if self.holdout else items[:cut]

    def layouts(self) -> tuple[str, ...]:
        return ("hero", "plain_html", "text") if self.holdout else ("table", "card", "text")


def money(rng: random.Random, lang: str) -> str:
    value = rng.choice([12, 29, 49, 89, 149, 240, 399, 1180, 2450, 86]) + rng.randint(0, 99) / 100
    whole, cents = f"{value:,.2f}".split(".")
    if lang == "en":
        return f"${whole}.{cents}"
    dotted = whole.replace(",", ".")
    if lang == "pt":
        return rng.choice([f"R$ {dotted},{cents}", f"{dotted},{cents} €"])
    if lang == "fr":
        return f"{whole.replace(',', ' ')},{cents} €"
    if lang == "nl":
        return f"€ {dotted},{cents}"
    return f"{dotted},{cents} €"


def when(rng: random.Random) -> datetime:
    start = datetime(2023, 1, 1, tzinfo=UTC)
    return start + timedelta(minutes=rng.randint(0, 60 * 24 * 365 * 3))


def date_text(moment: datetime, lang: str) -> str:
    return moment.strftime("%B %d, %Y") if lang == "en" else moment.strftime("%d/%m/%Y")


def token(rng: random.Random, n: int = 24, alphabet: str = "") -> str:
    chars = alphabet or "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return "".join(rng.choice(chars) for _ in range(n))


def fake_b64(rng: random.Random, n: int) -> str:
    return base64.b64encode(rng.randbytes(n)).decode()


def dkim(rng: random.Random, domain: str, selector: str, moment: datetime) -> str:
    return (
        f"v=1; a=rsa-sha256; c=relaxed/relaxed; d={domain}; s={selector}; "
        f"t={int(moment.timestamp())}; h=from:to:subject:date:message-id:mime-version; "
        f"bh={fake_b64(rng, 32)}; b={fake_b64(rng, 128)}"
    )


class Tracking:
    """How a sender's email service rewrites links and where bounces go."""

    def __init__(self, rng: random.Random, org: Org) -> None:
        self.rng, self.org, self.esp = rng, org, org.esp
        self.n = rng.randint(1000, 99999)

    def link(self, url: str) -> str:
        rng, esp = self.rng, self.esp
        if esp == "sendgrid":
            return f"https://u{self.n}.ct.sendgrid.net/ls/click?upn={token(rng, 60)}"
        if esp == "mailchimp":
            slug = self.org.domain.split(".")[0][:12]
            return (f"https://{slug}.us{self.n % 20 + 1}.list-manage.com/track/click"
                    f"?u={token(rng, 25, '0123456789abcdef')}&id={token(rng, 10, '0123456789abcdef')}"
                    f"&e={token(rng, 10, '0123456789abcdef')}")  # fmt: skip
        if esp == "mandrill":
            return (
                f"https://mandrillapp.com/track/click/{self.n}/{self.org.site}?p={token(rng, 80)}"
            )
        if esp == "sparkpost":
            return f"https://click.{self.org.domain}/f/a/{token(rng, 22)}~~/{token(rng, 30)}~~"
        if esp == "postmark" and rng.random() < 0.5:
            return f"https://click.pstmrk.it/3s/{token(rng, 40)}/{token(rng, 8)}"
        if esp == "ses" and rng.random() < 0.4:
            return f"https://links.{self.org.domain}/ls/click?upn={token(rng, 48)}"
        return url

    def pixel(self) -> str:
        esp, rng = self.esp, self.rng
        if esp == "sendgrid":
            return f"https://u{self.n}.ct.sendgrid.net/wf/open?upn={token(rng, 60)}"
        if esp == "mailchimp":
            return f"https://{self.org.domain.split('.')[0][:12]}.us5.list-manage.com/track/open.php?u={token(rng, 20)}"
        if esp == "mandrill":
            return f"https://mandrillapp.com/track/open.php?u={self.n}&id={token(rng, 32)}"
        return f"https://email.{self.org.domain}/o/{token(rng, 32)}.gif"

    def bounce(self, local: str) -> str:
        rng, domain = self.rng, self.org.domain
        return {
            "sendgrid": f"bounces+{self.n}-{token(rng, 4, 'abcdef0123456789')}={local}@em{self.n % 9000}.{domain}",
            "mailchimp": f"bounce-mc.us5_{self.n}.{rng.randint(10**6, 10**7)}-{local}@mail{rng.randint(10, 250)}.atl{rng.randint(11, 91)}.mcsv.net",
            "mandrill": f"bounce-md_{self.n}.{token(rng, 8, '0123456789abcdef')}.v1-{token(rng, 16, '0123456789abcdef')}@mandrillapp.com",
            "ses": f"01000{token(rng, 11, '0123456789abcdef')}-{token(rng, 8, '0123456789abcdef')}-000000@amazonses.com",
            "postmark": f"pm_bounces@pm-bounces.{domain}",
            "sparkpost": f"msprvs1=18{token(rng, 10)}=bounces-{self.n}@spmailtechn.com",
        }.get(self.esp, f"bounces@{domain}")

    def esp_dkim(self) -> str | None:
        return {"sendgrid": "sendgrid.info", "mailchimp": "mcsv.net", "mandrill": "mandrillapp.com",
                "ses": "amazonses.com", "postmark": "pm.mtasv.net", "sparkpost": "spmailtechn.com"}.get(self.esp)  # fmt: skip


def fill(template: str, values: dict[str, str]) -> str:
    return template.format_map(defaultdict(str, values))


def html_layout(
    layout: str,
    org: str,
    site: str,
    lines: list[str],
    cta: tuple[str, str] | None,
    footer: list[str],
    pixel: str | None,
    preheader: str,
    rng: random.Random,
) -> str:
    """Markup in the styles email builders produce (tables, inline CSS, a button)."""
    esc = [line.replace("&", "&amp;").replace("<", "&lt;").replace("\n", "<br>") for line in lines]
    foot = "".join(
        f'<p style="margin:0 0 6px;color:#8a8f98;font-size:12px">{f}</p>' for f in footer
    )
    logo = f'<img src="https://cdn.{site}/email/logo-{rng.randint(1, 9)}.png" alt="{org}" width="140" height="36">'
    button = ""
    if cta:
        label, href = cta
        button = (f'<table role="presentation" cellpadding="0" cellspacing="0"><tr><td bgcolor="#1a73e8" '
                  f'style="border-radius:4px"><a href="{href}" style="display:inline-block;padding:12px 24px;'
                  f'color:#ffffff;text-decoration:none;font-weight:bold">{label}</a></td></tr></table>')  # fmt: skip
    tracker = (
        f'<img src="{pixel}" width="1" height="1" alt="" style="display:block;border:0">'
        if pixel
        else ""
    )
    pre = ""
    if preheader:
        pad = "&#847;&zwnj;&nbsp;" * rng.randint(0, 30)
        pre = f'<div style="display:none;max-height:0;overflow:hidden">{preheader}{pad}</div>'
    body = "".join(f'<p style="margin:0 0 16px;line-height:1.5">{p}</p>' for p in esc)
    if layout == "table":
        return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">'
                f'<style>@media (max-width:600px){{.c{{width:100%!important}}}}</style></head>'
                f'<body style="margin:0;background:#f4f5f7">{pre}<table role="presentation" width="100%" bgcolor="#f4f5f7">'
                f'<tr><td align="center"><table class="c" width="600" style="background:#fff;font-family:Arial,sans-serif">'
                f'<tr><td style="padding:24px">{logo}</td></tr><tr><td style="padding:0 24px">{body}{button}</td></tr>'
                f'<tr><td style="padding:24px">{foot}</td></tr></table></td></tr></table>{tracker}</body></html>')  # fmt: skip
    if layout == "card":
        return (f'<html><body style="font-family:Helvetica,Arial,sans-serif;color:#222">{pre}'
                f'<div style="max-width:560px;margin:0 auto;padding:20px;border:1px solid #e3e3e3">{logo}'
                f'<h2 style="font-size:20px">{esc[0] if esc else org}</h2>{body}{button}<hr>{foot}</div>{tracker}</body></html>')  # fmt: skip
    if layout == "hero":
        banner = f'<img src="https://images.{site}/mail/hero-{rng.randint(1, 5)}.jpg" width="600" alt="">'
        return (f'<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"></head>'
                f'<body>{pre}<center><div style="width:600px;text-align:left">{banner}<div style="padding:30px">{body}'
                f'{button}</div><div style="background:#fafafa;padding:18px">{foot}</div></div></center>{tracker}</body></html>')  # fmt: skip
    return f"<html><body><div>{body}{button}</div><div>{foot}</div>{tracker}</body></html>"


def build(rng: random.Random, split: Split, index: int) -> tuple[str, bytes]:
    kind = rng.choices(list(KIND_WEIGHTS), weights=list(KIND_WEIGHTS.values()))[0]
    lang = rng.choices(list(LANG_WEIGHTS), weights=list(LANG_WEIGHTS.values()))[0]
    texts = phrases.KINDS[kind][lang]
    moment = when(rng)
    clinic = rng.choice(senders.CLINICS[lang])
    person = rng.choice(senders.PEOPLE[lang])
    first = person.split()[0]
    to_addr = f"{first.lower().encode('ascii', 'ignore').decode()}@{clinic}"
    platform = None
    if kind in senders.PLATFORMS and kind not in VENDOR_KINDS and rng.random() < 0.45:
        platform = rng.choice(split_platforms(split, senders.PLATFORMS[kind]))
    org = rng.choice(vendors_for(kind, split.pool(senders.VENDORS[lang])))
    inviter = rng.choice([p for p in senders.PEOPLE[lang] if p != person])
    tenant = clinic.split(".")[0].replace("-", "")[:14]
    values = {
        "name": first, "org": platform_org(platform) if platform else org.name,
        "amount": money(rng, lang), "inv": f"{rng.choice(['INV', 'F', 'R', 'A', ''])}{rng.randint(10000, 9999999)}",
        "date": date_text(moment + timedelta(days=rng.randint(3, 30)), lang), "code": f"{rng.randint(0, 999999):06d}",
        "pct": str(rng.choice([80, 85, 90, 95, 98, 100, 15, 20, 25])), "inviter": inviter,
        "doc": rng.choice(senders.DOCS), "n": str(rng.randint(2, 40)), "device": rng.choice(senders.DEVICES),
        "city": rng.choice(senders.CITIES), "team": rng.choice(senders.TEAMS), "email": to_addr,
        "list": "practice-managers",
    }  # fmt: skip
    if kind == "list_post":
        return build_list_post(rng, split, lang, texts, values, moment, clinic, to_addr, index)
    msg = EmailMessage(policy=POLICY)
    tracking = Tracking(rng, org)
    if platform is not None:
        display, address, host, dkim_domain = platform
        display = fill(display, values)
        address = fill(address, {"tenant": tenant})
        host = fill(host, {"tenant": tenant})
        site_link = f"https://{host}/{rng.choice(['account', 'billing', 'security', 'view', 'c', 'r'])}/{token(rng, 16)}"
        sender = formataddr((display, address))
        msg["Return-Path"] = f"<{address.split('@')[0][:20]}-bounces@{address.split('@')[1]}>"
        msg["DKIM-Signature"] = dkim(
            rng, dkim_domain, rng.choice(["20230601", "s1", "selector1", "k1"]), moment
        )
        pixel, unsub = None, False
        org_name, site = display, host
    else:
        local = rng.choice(
            [
                "noreply",
                "no-reply",
                "billing",
                "notifications",
                "info",
                "support",
                "news",
                "service",
                "accounts",
            ]
        )
        address = f"{local}@{rng.choice(['', '', 'mail.', 'email.', 'notify.'])}{org.domain}"
        sender = formataddr(
            (
                org.name
                if rng.random() < 0.85
                else f"{org.name} {rng.choice(['Billing', 'Support', 'Team', 'Notifications'])}",
                address,
            )
        )
        path = rng.choice(
            [
                "account/billing",
                "invoices",
                "portal",
                "login",
                "app/settings",
                "orders",
                "results",
                "help",
            ]
        )
        site_link = tracking.link(
            f"https://{rng.choice(['www.', 'app.', 'portal.', 'my.', ''])}{org.site}/{path}/{token(rng, 12)}"
        )
        msg["Return-Path"] = f"<{tracking.bounce(local)}>"
        msg["DKIM-Signature"] = dkim(
            rng, org.domain, rng.choice(["s1", "k1", "mail", "google", "sel2023"]), moment
        )
        esp = tracking.esp_dkim()
        if esp:
            msg["DKIM-Signature"] = dkim(
                rng, esp, rng.choice(["smtpapi", "k2", "mte1", "scph0123"]), moment
            )
        unsub = kind == "newsletter" or rng.random() < 0.25
        pixel = tracking.pixel() if (unsub or rng.random() < 0.3) and org.esp != "own" else None
        org_name, site = org.name, org.site
    add_common(
        msg,
        rng,
        sender,
        formataddr((person, to_addr)),
        fill(split.pick(rng, texts["subject"]), values),
        moment,
        address,
    )
    if unsub:
        msg["List-Unsubscribe"] = (
            f"<https://{site}/unsubscribe?u={token(rng, 20)}>, <mailto:unsubscribe@{address.split('@')[1]}>"
        )
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    if rng.random() < 0.3:
        msg["Reply-To"] = formataddr((f"{org_name} Support", f"support@{address.split('@')[1]}"))
    lines = [
        fill(split.pick(rng, texts["open"]), values),
        fill(split.pick(rng, texts["body"]), values),
    ]
    if rng.random() < 0.5:
        lines.append(fill(split.pick(rng, texts["body"]), values))
    cta_label = fill(split.pick(rng, texts["cta"]), values)
    close = [fill(split.pick(rng, texts["close"]), values)]
    footer = [f"© {moment.year} {org_name}", *close]
    if unsub:
        footer.append(f'<a href="{tracking.link(f"https://{site}/preferences")}">Unsubscribe</a>' if lang == "en"
                      else f'<a href="https://{site}/unsubscribe">{UNSUB[lang]}</a>')  # fmt: skip
    layout = rng.choice(split.layouts())
    plain = "\n\n".join([*lines, f"{cta_label}: {site_link}" if cta_label else "", *close])
    if layout == "text":
        msg.set_content(plain)
    else:
        msg.set_content(plain)
        preheader = lines[1][:90] if rng.random() < 0.5 else ""
        msg.add_alternative(html_layout(layout, org_name, site, lines, (cta_label, site_link) if cta_label else None,
                                        footer, pixel, preheader, rng), subtype="html")  # fmt: skip
    attach(msg, rng, kind, values)
    return f"{index:04d}-{kind}-{lang}.eml", bytes(msg)


ROLE_WORDS = {
    "lab": ("lab", "diagn", "bio", "análises", "imaging", "análisis"),
    "claims": ("claims", "billing", "mutual", "declar", "zorgverz", "seguros", "fatur", "abrechnung",
               "krankenkasse", "télétrans", "mutuelle", "facturación", "prestador", "zorgadmin"),
    "payroll": ("payroll", "salaris", "folha", "paie", "lohn", "nómina", "benefits"),
}  # fmt: skip


def vendors_for(kind: str, pool: list[Org]) -> list[Org]:
    """Vendors whose name fits the kind of message (a lab sends results, not payslips)."""
    words = ROLE_WORDS.get(kind)
    if not words:
        return pool
    fitting = [o for o in pool if any(w in o.name.lower() for w in words)]
    return fitting or pool


def platform_org(platform: tuple[str, str, str, str]) -> str:
    """The product name a platform's message talks about."""
    display, address = platform[0], platform[1]
    if "{inviter}" in display:
        return {
            "sharepointonline.com": "SharePoint",
            "google.com": "Google Docs",
            "docusign.net": "DocuSign",
        }.get(address.split("@")[1], "Microsoft 365")
    return display


UNSUB = {
    "nl": "Afmelden",
    "pt": "Descadastrar",
    "fr": "Se désinscrire",
    "de": "Abmelden",
    "es": "Darse de baja",
}


def split_platforms(
    split: Split, items: list[tuple[str, str, str, str]]
) -> list[tuple[str, str, str, str]]:
    cut = max(1, (len(items) * 2) // 3)
    return items[cut:] if split.holdout and len(items) > 1 else items[:cut]


def add_common(
    msg: EmailMessage,
    rng: random.Random,
    sender: str,
    to: str,
    subject: str,
    moment: datetime,
    address: str,
) -> None:
    domain = address.split("@")[1]
    msg["Received"] = (f"from {rng.choice(['o1', 'mta', 'smtp', 'out'])}{rng.randint(1, 40)}.{domain} "
                       f"(198.51.100.{rng.randint(1, 254)}) by mx.clinic.example; {format_datetime(moment)}")  # fmt: skip
    msg["Authentication-Results"] = (
        f"mx.clinic.example; dkim=pass header.d={domain}; spf=pass; dmarc=pass"
    )
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(moment)
    msg["Message-ID"] = f"<{token(rng, 20)}.{rng.randint(10**5, 10**9)}@{domain}>"
    msg["MIME-Version"] = "1.0"
    if rng.random() < 0.3:
        msg["Feedback-ID"] = (
            f"{rng.randint(1, 99)}:{rng.randint(1000, 9999)}:{domain.split('.')[0]}"
        )
    if rng.random() < 0.2:
        msg["X-Mailer"] = rng.choice(
            ["Microsoft Outlook 16.0", "PHPMailer 6.8.1", "nodemailer (6.9.7)"]
        )


def attach(msg: EmailMessage, rng: random.Random, kind: str, values: dict[str, str]) -> None:
    if kind in {"invoice", "receipt"} and rng.random() < 0.4:
        name = f"{values['inv'] or 'invoice'}.pdf"
        msg.add_attachment(
            tiny_pdf(values["inv"] or "invoice"),
            maintype="application",
            subtype="pdf",
            filename=name,
        )
    elif kind == "invite" and rng.random() < 0.3:
        ics = (f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nSUMMARY:{values['doc']}\r\n"
               f"DTSTART:20250101T090000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")  # fmt: skip
        msg.add_attachment(ics.encode(), maintype="text", subtype="calendar", filename="invite.ics")


def tiny_pdf(title: str) -> bytes:
    """A one-page PDF with one line of text (no links): what most invoice PDFs look like to a scanner."""
    text = f"Invoice {title}".encode("latin-1", "replace")
    stream = b"BT /F1 12 Tf 72 720 Td (" + text + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return bytes(out)


LIST_HOSTS = [
    ("lists.practice-managers.org", "Practice Managers Network", "pm-network"),
    ("groups.io", "HIT-Admins", "hit-admins"),
    ("googlegroups.com", "Regional Clinic IT", "regional-clinic-it"),
    ("lists.hl7-users.net", "Interface Users", "interface-users"),
    ("lists.huisartsen-ict.nl", "Huisartsen ICT", "ict-overleg"),
    ("listes.medecins-libres.fr", "Médecins libéraux informatique", "info-cabinet"),
    ("lists.praxis-it.de", "Praxis-IT", "praxis-it"),
    ("listas.gestores-saude.org.br", "Gestores de Saúde", "gestores"),
    ("listas.consultorios.es", "Consultorios TIC", "tic"),
    ("lists.rural-health-it.org", "Rural Health IT", "rhit"),
    ("mail.python.org", "Healthcare-Python", "health-python"),
]  # fmt: skip
AUTHOR_DOMAINS = [
    "gmail.com",
    "outlook.com",
    "icloud.com",
    "yahoo.com",
    "gmx.de",
    "web.de",
    "orange.fr",
    "hotmail.com",
    "proton.me",
]


def build_list_post(
    rng: random.Random,
    split: Split,
    lang: str,
    texts: dict[str, list[str]],
    values: dict[str, str],
    moment: datetime,
    clinic: str,
    to_addr: str,
    index: int,
) -> tuple[str, bytes]:
    hosts = LIST_HOSTS[8:] if split.holdout else LIST_HOSTS[:8]
    host, title, name = rng.choice(hosts)
    list_addr = f"{name}@{host}"
    author = values["inviter"]
    author_local = author.lower().replace(" ", ".").encode("ascii", "ignore").decode()
    author_domain = rng.choice([*AUTHOR_DOMAINS, *senders.CLINICS[lang]])
    author_addr = f"{author_local}@{author_domain}"
    msg = EmailMessage(policy=POLICY)
    rewrite = rng.random() < 0.5  # DMARC mitigation: From rewritten to the list
    sender = (
        formataddr((f"{author} via {title}", list_addr))
        if rewrite
        else formataddr((author, author_addr))
    )
    subject = fill(split.pick(rng, texts["subject"]), values)
    if rng.random() < 0.6:
        subject = f"[{title.split()[0]}] {subject}"
    add_common(
        msg,
        rng,
        sender,
        formataddr(("", list_addr)) if rng.random() < 0.7 else to_addr,
        subject,
        moment,
        list_addr,
    )
    msg["Return-Path"] = f"<{name}-bounces+{to_addr.replace('@', '=')}@{host}>"
    msg["Sender"] = f"{name}-bounces@{host}" if "googlegroups" not in host else list_addr
    if author_domain in AUTHOR_DOMAINS or rng.random() < 0.5:
        msg["DKIM-Signature"] = dkim(rng, author_domain, "20230601", moment)
    msg["DKIM-Signature"] = dkim(rng, host, rng.choice(["20221208", "google", "lists"]), moment)
    msg["ARC-Seal"] = (
        f"i=1; a=rsa-sha256; t={int(moment.timestamp())}; cv=none; d={host}; s=arc; b={fake_b64(rng, 64)}"
    )
    msg["ARC-Message-Signature"] = (
        f"i=1; a=rsa-sha256; c=relaxed/relaxed; d={host}; s=arc; bh={fake_b64(rng, 32)}; b={fake_b64(rng, 64)}"
    )
    msg["ARC-Authentication-Results"] = (
        f"i=1; {host}; dkim=pass header.d={author_domain}; dmarc=pass"
    )
    msg["List-Id"] = f"{title} <{name}.{host}>"
    msg["List-Post"] = f"<mailto:{list_addr}>"
    msg["List-Unsubscribe"] = f"<mailto:{name}-unsubscribe@{host}>, <https://{host}/g/{name}/unsub>"
    msg["List-Archive"] = f"<https://{host}/g/{name}/archive>"
    if rewrite:
        msg["Reply-To"] = formataddr((author, author_addr))
        msg["X-Original-From"] = formataddr((author, author_addr))
    if "googlegroups" in host:
        msg["X-Original-Sender"] = author_addr
        msg["Mailing-list"] = f"list {list_addr}; contact {name}+owners@{host}"
    parts = [
        fill(split.pick(rng, texts["open"]), values),
        fill(split.pick(rng, texts["body"]), values),
    ]
    if rng.random() < 0.5:
        parts.append(f"> {fill(rng.choice(texts['body']), values)}")
    if rng.random() < 0.3:
        parts.append(rng.choice([f"https://{host}/g/{name}/wiki/Backups", f"https://www.{author_domain.split('.')[0]}-notes.org/post/{rng.randint(100, 999)}",
                                 f"http://192.168.{rng.randint(0, 20)}.{rng.randint(2, 250)}/admin/", f"http://10.0.{rng.randint(0, 9)}.{rng.randint(2, 250)}:8080/"]))  # fmt: skip
    parts.append(fill(split.pick(rng, texts["close"]), values))
    footer = f"_______________________________________________\n{title} mailing list\n{list_addr}\nTo unsubscribe send an email to {name}-leave@{host}"
    msg.set_content("\n\n".join([*parts, footer]))
    return f"{index:04d}-list_post-{lang}.eml", bytes(msg)


def generate(out: Path, count: int, seed: int, holdout: bool) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.eml"):
        old.unlink()
    rng = random.Random(seed)
    split = Split(holdout)
    digests = set()
    made = 0
    while made < count:
        name, raw = build(rng, split, made + 1)
        digest = hashlib.sha256(raw.split(b"\n\n", 1)[-1]).hexdigest()
        if digest in digests:
            continue
        digests.add(digest)
        (out / name).write_bytes(raw)
        made += 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--dev", type=int, default=560)
    parser.add_argument("--holdout", type=int, default=320)
    args = parser.parse_args()
    generate(REPO / "tests" / "data" / "modern_ham", args.dev, seed=20250117, holdout=False)
    generate(REPO / "tests" / "data" / "modern_ham_holdout", args.holdout, seed=90817, holdout=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
