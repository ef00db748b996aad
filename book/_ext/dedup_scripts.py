"""Sphinx extension: drop duplicate ``<script>`` entries from each page.

Why: with Jupyter Book 1.0.4, sphinx-thebe's inline configuration script is emitted twice on every
page, and the browser reports ``SyntaxError: Identifier 'THEBE_JS_URL' has already been declared``
in its console. The real-browser tests require a clean console, so the second copy is removed.
"""

from __future__ import annotations

from typing import Any


def _dedup(app: Any, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    seen: set[tuple[str, Any]] = set()
    kept = []
    for js in context.get("script_files", []):
        key = (getattr(js, "filename", "") or "", getattr(js, "attributes", {}).get("body"))
        if key not in seen:
            seen.add(key)
            kept.append(js)
    context["script_files"][:] = kept


def setup(app: Any) -> dict[str, bool]:
    app.connect("html-page-context", _dedup, priority=999)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
