"""``python -m gilbench`` is the ``gilbench`` command."""

from gilbench.cli import main

if __name__ == "__main__":
    main()
