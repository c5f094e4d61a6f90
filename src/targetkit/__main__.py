"""Allow `python -m targetkit`."""

from targetkit.cli import main

if __name__ == "__main__":
    main(prog_name="targetkit")
