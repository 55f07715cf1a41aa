//! The policy file of a long-lived engine handle: cached, reloaded on change (policy.md §9).
