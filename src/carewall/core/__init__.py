"""Layer 0: configuration, database, errors, clock and key management.

Everything else in Carewall builds on these; nothing here imports another
Carewall package.
"""
