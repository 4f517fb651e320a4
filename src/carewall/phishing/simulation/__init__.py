"""Phishing simulations: templates, campaigns, sending, tracking, the teachable moment, results.

Part of layer 4 (`phishing`). It may use `training` (the staff directory
and remedial assignments) and never `records`. The modules:

- `library` / `templates`: the shipped scenarios and administrators' edited copies.
- `campaigns`: launch (recipients, send window, rate limit, queued batches).
- `sending`: the `phishing.campaign.send` task (claims, SMTP, the crash window).
- `marker`: the signed `X-Carewall-Simulation` header.
- `tracking`: opens, clicks, submissions, reports, and scanner detection.
- `results`: per-recipient results, figures, trends and risk evidence.
"""

from carewall.phishing.simulation.marker import HEADER, SIMULATION_KEY

__all__ = ["HEADER", "SIMULATION_KEY"]
