"""One exception type for problems the user can fix (bad data, bad config,
unreachable server). The CLI prints its message and exits non-zero, with no
traceback; everything else is a bug and keeps its traceback."""


class UserError(Exception):
    """A problem with the user's input or environment, with a clear message."""
