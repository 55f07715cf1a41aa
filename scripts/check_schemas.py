"""Check that every file in `engine/heso-compliance/schemas/` is a valid JSON Schema.

The schemas describe the `--json` documents of both programs (cli.md §4) and declare draft
2020-12; `tests/test_cli_schemas.py` validates real outputs against them.

Usage: `python scripts/check_schemas.py`
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

SCHEMAS = Path(__file__).resolve().parent.parent / "engine" / "heso-compliance" / "schemas"
DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"


def check(path: Path) -> list[str]:
    """What is wrong with the schema file at `path`, if anything."""
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        return [f"cannot read `{path.name}` as JSON: {error}"]
    # A schema that names another draft would be checked against the wrong meta-schema here.
    if not isinstance(schema, dict) or schema.get("$schema") != DRAFT_2020_12:
        return [f'`{path.name}` does not declare "$schema": "{DRAFT_2020_12}"']
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as error:
        where = "/".join(str(part) for part in error.absolute_path) or "the root"
        return [f"`{path.name}` is not a valid schema at {where}: {error.message}"]
    return []


def main() -> int:
    files = sorted(path for path in SCHEMAS.glob("*") if path.is_file())
    errors = [message for path in files for message in check(path)]
    if not files:
        errors.append(f"no schema files in `{SCHEMAS}`")
    for message in errors:
        print(f"check_schemas: error: {message}", file=sys.stderr)
    if errors:
        return 1
    print(f"check_schemas: {len(files)} JSON Schemas (draft 2020-12) are valid")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
