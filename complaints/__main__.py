"""`python -m complaints` is the `complaints` command."""

from complaints.pipeline.cli import main

main()
