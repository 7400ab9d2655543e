"""``python -m savepoint``: the same command as the ``savepoint`` console script."""

from savepoint.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
