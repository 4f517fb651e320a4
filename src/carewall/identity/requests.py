"""Where a request came from: now `carewall.core.context.Origin`, re-exported here."""

from carewall.core.context import Origin, describe_user_agent

__all__ = ["Origin", "describe_user_agent"]
