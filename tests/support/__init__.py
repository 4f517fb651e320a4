"""What tests share: one vocabulary of helpers, factories and runners.

- `clock`: `FrozenClock` (the `clock` fixture) and `clock_moved`.
- `postgres`: the per-test PostgreSQL databases the fixtures create.
- `factories`: users, tokens and FHIR resources made through the real services.
- `signin`: driving the sign-in pages as a browser would (CSRF, password, TOTP).
- `cli`: the `carewall` command, in-process (`carewall`) or as a process
  (`carewall_process`).
- `server`: a real `carewall serve` process on loopback (`start_server`), `oathtool`.
- `mail`: a real SMTP server on loopback (`smtp_inbox`) and an in-memory report mailbox.
- `audit`: reading the audit entries about a patient or subject.

Fixtures (`runtime`, `settings`, `app`, `client`, `new_client`, `clock`,
`cli_env`) live in `tests/conftest.py`; test modules import helpers from here,
never from a `conftest.py` or from another test module.
"""
