"""``python -m harness`` is the ``gilbench`` command."""

from harness.cli import main

if __name__ == "__main__":
    main()
