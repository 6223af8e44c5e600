"""``python -m collabhub`` runs the command line."""

from collabhub.cli import main

main()
