"""Usage errors of `bango-resale-contract`: a command line that cannot run as given is told in
one line naming the flag, exit status 2, before anything runs (argparse would print the whole
usage first, which buries the one line that matters)."""

from __future__ import annotations

import argparse
from typing import NoReturn

PROG = "bango-resale-contract"


class UsageError(Exception):
    """The command line cannot run as given; the message starts with the flag at fault."""

    def __init__(self, message: str, prog: str | None = None) -> None:
        super().__init__(message)
        self.prog = prog


class Parser(argparse.ArgumentParser):
    """argparse, with each usage error raised as a `UsageError` instead of printed."""

    def error(self, message: str) -> NoReturn:
        # argparse says "argument --port: invalid int value"; the flag alone names it.
        raise UsageError(message.removeprefix("argument "), self.prog)
