"""Demo practice seeding: each domain contributes an idempotent seeder.

A seeder runs once per data directory: its name is stored in `demo_seeds`
when it succeeds, so starting `carewall serve --demo` again adds nothing.
Seeders declare the demo logins they create (and notes such as patient names
to try) so the CLI can print them before everything has run.

Slow steps are marked `later`: `carewall serve --demo` runs the others, starts
the server and lets a queued task run the later ones. A new domain (alerts,
say) adds its demo data by listing a `Seeder` in its registration's
`seeders`, `later=True` unless a login depends on it; it may rely on every
first step and every earlier domain's later steps having run.
"""

from carewall.demo.framework import DemoLogin, Phase, Seeder, SeedReport, seed_demo

__all__ = ["DemoLogin", "Phase", "SeedReport", "Seeder", "seed_demo"]
