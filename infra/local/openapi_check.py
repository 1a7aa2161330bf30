#!/usr/bin/env python3
"""Static checks of infra/openapi.yaml (run by contract.sh before Schemathesis; no server needed):

1. the document is valid OpenAPI 3.1 (openapi-spec-validator);
2. every example in it (parameters, request bodies, responses, headers, schemas) validates against
   the schema it illustrates (JSON Schema 2020-12, with formats), so the documented examples can
   be trusted as much as the schemas that Schemathesis checks the live answers against.

Usage: openapi_check.py [PATH]   (default: infra/openapi.yaml). Exit status 1 on any problem.
"""

import os
import sys

import yaml
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def main() -> int:
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "infra", "openapi.yaml")
    with open(path, encoding="utf-8") as f:
        spec = yaml.safe_load(f)
    validate_openapi(spec)

    def resolve(node):
        while isinstance(node, dict) and set(node) == {"$ref"}:
            target = spec
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            node = target
        return node

    def validator(schema):
        # The schema with the document's components beside it, so `#/components/...` refs resolve.
        return Draft202012Validator(
            {**schema, "components": spec["components"]},
            format_checker=Draft202012Validator.FORMAT_CHECKER,
        )

    checked, problems = 0, []

    def check(where, schema, value):
        nonlocal checked
        checked += 1
        for error in validator(schema).iter_errors(value):
            problems.append(f"{where}: {error.message[:300]}")

    def check_media(where, media):
        schema = media.get("schema")
        if schema is None:
            return
        for name, example in (media.get("examples") or {}).items():
            check(f"{where} example `{name}`", schema, resolve(example)["value"])
        if "example" in media:
            check(f"{where} example", schema, media["example"])

    for route, item in spec["paths"].items():
        for method, op in item.items():
            where = f"{method.upper()} {route}"
            for param in op.get("parameters", []):
                param = resolve(param)
                if "example" in param:
                    check(f"{where} parameter {param['name']}", param["schema"], param["example"])
            body = op.get("requestBody")
            for media_type, media in (body or {}).get("content", {}).items():
                check_media(f"{where} request body {media_type}", media)
            for status, response in op["responses"].items():
                response = resolve(response)
                for media_type, media in (response.get("content") or {}).items():
                    check_media(f"{where} {status} {media_type}", media)
                for name, header in (response.get("headers") or {}).items():
                    header = resolve(header)
                    if "example" in header:
                        check(f"{where} {status} header {name}", header["schema"], header["example"])
    for name, schema in spec["components"]["schemas"].items():
        for i, example in enumerate(schema.get("examples") or []):
            check(f"schema {name} examples[{i}]", {"$ref": f"#/components/schemas/{name}"}, example)

    for problem in problems:
        print(f"openapi_check: {problem}", file=sys.stderr)
    rel = os.path.relpath(path, ROOT)
    print(f"openapi_check: {rel} is valid OpenAPI 3.1; {checked} examples checked, {len(problems)} problems",
          file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
