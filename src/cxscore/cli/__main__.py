"""``python -m cxscore.cli``."""

from cxscore.cli import main

main()
