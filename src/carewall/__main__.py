"""`python -m carewall` runs the same CLI as the `carewall` script."""

from carewall.cli.main import run

run()
