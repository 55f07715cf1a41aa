//! `policy explain` (cli.md §2.10): why an action gets its decision, rule by rule.
