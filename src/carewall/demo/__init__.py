"""Demo practice seeding: each domain contributes an idempotent seeder.

A seeder runs once per data directory: its name is stored in `demo_seeds`
when it succeeds, so starting `carewall serve --demo` again adds nothing.
Seeders return the demo logins they created so the CLI can print them.
"""

from carewall.demo.framework import DemoLogin, Seeder, SeedReport, seed_demo

__all__ = ["DemoLogin", "SeedReport", "Seeder", "seed_demo"]
