"""Value objects returned by the analyzer.

Everything here is frozen: a verdict is a record of what was seen, and the
web page, the CLI and the audit trail all render the same object.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from carewall.core.inputs import storable_text

VerdictLabel = Literal["phishing", "suspicious", "clean"]

#: ``dnsfunc`` as dkimpy calls it: a TXT record name (bytes) -> its TXT value(s).
DnsResolver = Callable[..., bytes | str | None]

#: Score at or above which a message is called phishing. Picked from the curve
#: over both legitimate sets (bench/analyzer_eval.py): at 5.0 the 2002 ham flags
#: 0.6% and the modern development set 0% (phishing recall 0.68).
DEFAULT_PHISHING_THRESHOLD = 5.0
#: Score at or above which a message is called suspicious: it asks a person to
#: look, it does not block. Picked from the same curve as the lowest step that
#: keeps the old ham under 2% and the modern set under 0.5%: 3.0 flags 2.5% of
#: the old ham, 3.25 flags 2.3%, 3.5 flags 1.9% (modern set 0% at each; recall
#: 0.871, 0.856, 0.852).
DEFAULT_SUSPICIOUS_THRESHOLD = 3.5


@dataclass(frozen=True, slots=True)
class Signal:
    """One observation that moved the score, with what it was based on.

    ``evidence`` is the exact header, URL or file name, so a person can check
    the claim by looking at the message themselves.
    """

    id: str
    weight: float
    explanation: str
    evidence: str

    def __post_init__(self) -> None:
        # Evidence quotes the message: whatever it held, what leaves the analyzer can be
        # stored, shown on a page and printed as JSON (no NUL, no lone surrogate).
        object.__setattr__(self, "explanation", storable_text(self.explanation))
        object.__setattr__(self, "evidence", storable_text(self.evidence))

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-ready form."""
        return {
            "id": self.id,
            "weight": self.weight,
            "explanation": self.explanation,
            "evidence": self.evidence,
        }


@dataclass(frozen=True, slots=True)
class Verdict:
    """The analyzer's answer: a label, the score behind it and every reason.

    The score is the plain sum of the signals' weights, so any verdict can
    be explained by reading its signals.
    """

    verdict: VerdictLabel
    score: float
    signals: tuple[Signal, ...]
    simulation: bool = False
    malformed: bool = False
    subject: str = ""
    from_: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "subject", storable_text(self.subject))
        object.__setattr__(self, "from_", storable_text(self.from_))

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-ready form, as the CLI's ``--json`` and the API print it."""
        return {
            "verdict": self.verdict,
            "score": self.score,
            "signals": [s.to_dict() for s in self.signals],
            "simulation": self.simulation,
            "malformed": self.malformed,
            "subject": self.subject,
            "from": self.from_,
        }

    def signal_ids(self) -> frozenset[str]:
        """The ids that fired, for tests and statistics."""
        return frozenset(s.id for s in self.signals)


@dataclass(frozen=True, slots=True)
class AnalyzerContext:
    """What the analyzer knows about the organisation it protects.

    Everything is optional: without it the analyzer still works, it just
    cannot tell "claims to be us" from "is us". ``dns_resolver`` is only
    used for DKIM verification; leave it ``None`` to stay offline.
    """

    org_domains: frozenset[str] = frozenset()
    vip_names: frozenset[str] = frozenset()
    known_senders: frozenset[str] = frozenset()
    phishing_threshold: float = DEFAULT_PHISHING_THRESHOLD
    suspicious_threshold: float = DEFAULT_SUSPICIOUS_THRESHOLD
    dns_resolver: DnsResolver | None = None
    weight_overrides: Mapping[str, float] = field(default_factory=dict)
    #: Checks the signature of an ``X-Carewall-Simulation`` header (the analyzer holds no
    #: keys); without it no such header is trusted.
    simulation_verifier: Callable[[str], bool] | None = None

    def __post_init__(self) -> None:
        # Normalise once so every rule can compare lower-case values.
        object.__setattr__(
            self, "org_domains", frozenset(d.strip().lower().rstrip(".") for d in self.org_domains)
        )
        object.__setattr__(
            self, "known_senders", frozenset(s.strip().lower() for s in self.known_senders)
        )
        object.__setattr__(
            self, "vip_names", frozenset(" ".join(n.lower().split()) for n in self.vip_names)
        )
        if self.suspicious_threshold > self.phishing_threshold:
            raise ValueError("suspicious_threshold must not exceed phishing_threshold")
