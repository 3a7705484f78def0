"""`python -m feedwatch` runs the command line."""

from feedwatch.cli import main

main()
