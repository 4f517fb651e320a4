"""Rule families, one module each, run in this order by the analyzer."""

from carewall.phishing.analyzer.signals import (
    attachments,
    auth,
    bulk,
    content,
    context,
    deception,
    documents,
    identity,
    links,
)
from carewall.phishing.analyzer.signals.base import Hit, RuleFamily

FAMILIES: tuple[RuleFamily, ...] = (
    auth.check,
    identity.check,
    links.check,
    attachments.check,
    content.check,
    bulk.check,
    context.check,
    documents.check,
    deception.check,
)

__all__ = ["FAMILIES", "Hit", "RuleFamily"]
