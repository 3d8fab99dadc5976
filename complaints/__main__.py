"""`python -m complaints` is the `complaints` command."""

from complaints.cli.main import main

main()
