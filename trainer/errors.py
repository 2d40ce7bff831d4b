"""One exception type for problems the user can fix (bad data, bad config,
unreachable server). The CLI prints its message and exits non-zero, with no
traceback; everything else is a bug and keeps its traceback."""


class UserError(Exception):
    """A problem with the user's input or environment, with a clear message."""


def run_cli(command) -> int:
    """Run a CLI command: a UserError becomes one line on stderr and exit 2, Ctrl-C exit 130."""
    import sys
    try:
        return command() or 0
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def warn(message: str) -> None:
    """A problem training survives: on stderr, above any progress bar."""
    import sys
    from tqdm import tqdm
    tqdm.write(message, file=sys.stderr)
