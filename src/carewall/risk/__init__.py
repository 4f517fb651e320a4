"""Layer 5: risk assessment and cyber-insurance readiness, answered from Carewall's own evidence.

Owns the frameworks (HHS 405(d) HICP, HPH CPGs, HIPAA Security Rule, NIST CSF
2.0, insurer key controls) as data files, the assessment with versioned
answers and encrypted evidence attachments, the risk register, the scores,
the prioritised plan, the breach-cost estimate and the report's content. It
reads every domain below it only through the evidence providers their
registrations declare (handed in by the caller) and their public names.
"""

from carewall.risk.evidence import EvidenceSet, Provider, Providers, collect
from carewall.risk.services import ATTACHMENT_KEY

__all__ = ["DATA_KEYS", "EvidenceSet", "Provider", "Providers", "collect"]

# Data-key purposes the risk domain uses (created up front by the registry).
DATA_KEYS = (ATTACHMENT_KEY,)
