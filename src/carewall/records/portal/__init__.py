"""What patients see and what follows from it: their record, its accounting, their flags.

`summary` is a patient's own record in plain language, `export` their
compartment as a Bundle, `accounting` who looked at a record (the portal and
the staff access report read the same audit entries) and `flags` the security
officer's follow-up of accesses a patient did not recognise.
"""
