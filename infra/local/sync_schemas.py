#!/usr/bin/env python3
"""Keep the AWS::EventSchemas::Schema Content blocks of template.yaml equal to the JSON Schema
files they name (CloudFormation cannot read local files, so the content is inlined).

Each block looks like:
      Content: |  # schema: infra/events/egress.requested.schema.json
        { ...json... }

  sync_schemas.py          rewrite the blocks from the files
  sync_schemas.py --check  exit 1 (and say which) when a block differs from its file
"""

from __future__ import annotations

import json
import os
import re
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TEMPLATE = os.path.join(ROOT, "template.yaml")
HEADER = re.compile(r"^(?P<indent>\s*)Content: \|\s*# schema: (?P<path>\S+)\s*$")


def render(path: str, indent: str) -> list[str]:
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        schema = json.load(f)  # fails loudly on invalid JSON
    text = json.dumps(schema, indent=2, ensure_ascii=False)
    return [f"{indent}  {line}".rstrip() + "\n" for line in text.splitlines()]


def main() -> int:
    check = "--check" in sys.argv[1:]
    with open(TEMPLATE, encoding="utf-8") as f:
        lines = f.readlines()
    out: list[str] = []
    drift: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        out.append(line)
        i += 1
        m = HEADER.match(line)
        if not m:
            continue
        indent = m.group("indent")
        start = i
        # the block scalar runs while lines are blank or indented deeper than the key
        while i < len(lines) and (not lines[i].strip() or lines[i].startswith(indent + " ")):
            i += 1
        end = i
        while end > start and not lines[end - 1].strip():  # keep trailing blank lines outside
            end -= 1
        old = lines[start:end]
        new = render(m.group("path"), indent)
        if old != new:
            drift.append(m.group("path"))
        out.extend(new)
        out.extend(lines[end:i])
    if check:
        if drift:
            print("template.yaml schema Content differs from: " + ", ".join(drift), file=sys.stderr)
            print("run: python3 infra/local/sync_schemas.py", file=sys.stderr)
            return 1
        return 0
    if drift:
        with open(TEMPLATE, "w", encoding="utf-8") as f:
            f.writelines(out)
        print("updated template.yaml from: " + ", ".join(drift))
    return 0


if __name__ == "__main__":
    sys.exit(main())
