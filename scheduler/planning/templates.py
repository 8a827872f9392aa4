"""`{{call_id.path}}` references from a planned argument to an earlier call's structured result.

Why: scripted plans (and LLM plans) need to feed one tool's output into the next tool without the planner
copying text by hand. `{{c1.hits.0.passage}}` walks dicts and lists; `|json` renders the value as a JSON
literal (safe to embed in Python code); a string that is exactly one reference keeps the value's type;
interpolated strings are stripped (tool stdout ends with a newline).
"""

from __future__ import annotations

import json
import re
from typing import Any

REF = re.compile(r"\{\{\s*([A-Za-z0-9_\-]+)((?:\.[A-Za-z0-9_\-]+)*)\s*(\|\s*json)?\s*\}\}")


class TemplateError(ValueError):
    pass


def lookup(results: dict[str, Any], call_id: str, path: str) -> Any:
    if call_id not in results:
        raise TemplateError(f"reference to {call_id!r}, which has no successful result")
    value = results[call_id]
    for part in [p for p in path.split(".") if p]:
        if isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        else:
            raise TemplateError(f"{call_id}{path}: no {part!r} in the result")
    return value


def render(value: Any, results: dict[str, Any]) -> Any:
    if isinstance(value, dict):
        return {k: render(v, results) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, results) for v in value]
    if not isinstance(value, str) or "{{" not in value:
        return value
    whole = REF.fullmatch(value.strip())
    if whole and not whole.group(3):
        return lookup(results, whole.group(1), whole.group(2))

    def substitute(match: re.Match[str]) -> str:
        found = lookup(results, match.group(1), match.group(2))
        if match.group(3):
            return json.dumps(found)
        return found.strip() if isinstance(found, str) else json.dumps(found)

    return REF.sub(substitute, value)
