//! `[[rule]]` tables that can never match (the `shadowed` warning of policy.md §10).
