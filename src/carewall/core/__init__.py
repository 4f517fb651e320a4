"""Layer 0: configuration, database, errors, clock, keys, the caller context and hooks.

Everything else in Carewall builds on these; nothing here imports another
Carewall package.
"""
