//! `policy check` and `policy test` as both programs run them: files in, exit code, text and JSON out.
