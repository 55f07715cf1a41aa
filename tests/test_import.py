"""What `import heso` may and may not do (sdk.md §1, issue 6): no asyncio, urllib, http.client,
ssl or framework imports, no threads, and exactly the public names of `__all__`.

`pathlib` itself imports `urllib.parse` on Python 3.10-3.12 (for `Path.as_uri`), and heso cannot
avoid pathlib; so a forbidden module counts only when `import pathlib` alone does not load it
(docs/decisions.md).
"""

from __future__ import annotations

import json
import subprocess
import sys

import heso

FORBIDDEN = ("asyncio", "urllib", "http.client", "ssl", "openai", "anthropic", "httpx", "requests")


def test_import_loads_no_network_or_framework_module_and_starts_no_thread() -> None:
    probe = (
        "import sys, threading, pathlib\n"
        "before = set(sys.modules)\n"
        "import heso\n"
        "import json\n"
        "new = sorted(set(sys.modules) - before)\n"
        "print(json.dumps({'modules': new, 'threads': threading.active_count()}))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    report = json.loads(completed.stdout)
    loaded = [
        name
        for name in report["modules"]
        if any(name == bad or name.startswith(f"{bad}.") for bad in FORBIDDEN)
    ]
    assert loaded == []
    assert report["threads"] == 1


def test_public_names_are_exactly_all() -> None:
    public = {name for name in dir(heso) if not name.startswith("_")}
    assert public == set(heso.__all__) - {"__version__"}
    for name in heso.__all__:
        assert getattr(heso, name) is not None
