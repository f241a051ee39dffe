"""`python -m scheduler` is the same as the `ipt-scheduler` command."""

from scheduler.cli import main

main()
