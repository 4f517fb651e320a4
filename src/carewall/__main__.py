"""`python -m carewall` runs the same CLI as the `carewall` script."""

from carewall.registry import main

main()
