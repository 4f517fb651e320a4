"""Completion certificates as PDF (fpdf2: pure Python, no system libraries to install).

A certificate names the person, the module, the date and the score, and
carries the assignment's serial so anyone can ask the practice to confirm it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fpdf import FPDF


@dataclass(frozen=True, slots=True)
class CertificateFacts:
    """What a certificate states."""

    practice: str
    person: str
    email: str
    module_title: str
    minutes: int
    completed_at: datetime
    score: int
    serial: str


def _latin(text: str) -> str:
    """The core PDF fonts speak Latin-1: replace what they cannot show rather than fail."""
    replacements = {
        "\u2019": "'",
        "\u2018": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": "-",
    }
    for bad, good in replacements.items():
        text = text.replace(bad, good)
    return text.encode("latin-1", "replace").decode("latin-1")


def certificate_pdf(facts: CertificateFacts) -> bytes:
    """One landscape A4 page."""
    pdf = FPDF(orientation="L", format="A4")
    pdf.set_title(_latin(f"Certificate: {facts.module_title}"))
    pdf.set_creator("Carewall")
    pdf.set_auto_page_break(auto=False)
    pdf.add_page()
    pdf.set_draw_color(31, 94, 140)
    pdf.set_line_width(1.5)
    pdf.rect(10, 10, 277, 190)
    pdf.set_line_width(0.4)
    pdf.rect(14, 14, 269, 182)
    lines = [
        ("Helvetica", "", 14, 36, _latin(facts.practice)),
        ("Helvetica", "B", 30, 52, "Certificate of completion"),
        ("Helvetica", "", 14, 76, "This certifies that"),
        ("Helvetica", "B", 24, 90, _latin(facts.person or facts.email)),
        ("Helvetica", "", 14, 108, "has completed the security-awareness module"),
        ("Helvetica", "B", 18, 122, _latin(facts.module_title)),
        (
            "Helvetica",
            "",
            12,
            140,
            f"on {facts.completed_at:%d %B %Y} with a quiz score of {facts.score}% "
            f"(about {facts.minutes} minutes of training).",
        ),
    ]
    for family, style, size, y, text in lines:
        pdf.set_font(family, style, size)
        pdf.set_xy(14, y)
        pdf.cell(269, 10, text, align="C")
    pdf.set_font("Helvetica", "", 9)
    pdf.set_xy(14, 178)
    pdf.cell(269, 6, f"Certificate serial {facts.serial} - issued by Carewall", align="C")
    return bytes(pdf.output())
