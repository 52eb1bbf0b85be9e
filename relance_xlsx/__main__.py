"""``python -m relance_xlsx``: the same as the ``relance-xlsx`` command, for when the
command's folder is not on the PATH (Windows, pip --user)."""

from .cli import main

if __name__ == "__main__":
    main()
