"""What the tests (and the benchmarks in scripts/bench/) share, and users never need: a client of
one sandbox returning raw answers and a check of answers against the spec (`api`), a recorder
of notifications (`receivers`), a throwaway PostgreSQL server (`postgres`).

Starting a sandbox is not here: that is `bango_resale_sandbox.testing`, the public launcher.
The tests import this package as `support` (pytest puts `tests/` on the path through the
conftest beside it); a script adds `tests/` to `sys.path` itself.
"""
