//! Policy tests (policy.md §11): `[[test]]` tables, running them, coverage and their reports.
