"""`python -m cli`: the shouhu command."""

from cli.main import main

main()
