"""Load a CloudFormation/SAM template with cfn-lint's own decoder (the one `cfn-lint template.yaml`
uses), plus a small resolver for the subset of intrinsics the local stack needs."""

from __future__ import annotations

import json
from typing import Any

from cfnlint.decode import decode
from samcli.lib.cfn_language_extensions.api import create_default_intrinsic_resolver
from samcli.lib.cfn_language_extensions.models import TemplateProcessingContext
from samcli.lib.cfn_language_extensions.processors import ForEachProcessor, TemplateParsingProcessor

import local_env

PSEUDO = {
    "AWS::Region": local_env.setting("AWS_REGION"),
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "egress",
    "AWS::StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/egress/4e1f5c3a-0d2b-4c8e-9a77-5b6c2f1e8d90",
    "AWS::NoValue": None,
}


LANGUAGE_EXTENSIONS = "AWS::LanguageExtensions"


def load_template(path: str, parameters: dict[str, str] | None = None) -> dict[str, Any]:
    """The template with the short-form tags in their long JSON form (`!GetAtt A.B` ->
    {"Fn::GetAtt": ["A", "B"]}). cfn-lint's dicts, lists and strings are subclasses of the built-in
    types that also carry line marks: they compare, json.dumps and reach botocore like plain ones.

    A template under the AWS::LanguageExtensions transform has its `Fn::ForEach` loops expanded as
    CloudFormation expands them, by SAM CLI's own implementation (the code `sam build` and `sam deploy`
    run with samconfig.toml's `language_extensions`), so callers see the resources the stack will have.
    Only the loops: every other intrinsic stays for the Resolver, whose parameters a caller may override.
    A loop over a parameter (a CommaDelimitedList) iterates its default, or its value in `parameters` (the
    --parameter-overrides form, "a,b"), as `sam build` and CloudFormation would; an empty list is iterated
    once, with "", as CloudFormation does."""
    template, errors = decode(path)
    if errors:
        raise SystemExit("; ".join(f"{path}:{e.linenumber}: {e.message}" for e in errors))
    transform = template.get("Transform")
    if LANGUAGE_EXTENSIONS in (transform if isinstance(transform, list) else [transform]):
        context = TemplateProcessingContext(fragment=template, parameter_values=dict(parameters or {}))
        TemplateParsingProcessor().process_template(context)
        ForEachProcessor(intrinsic_resolver=create_default_intrinsic_resolver(context)).process_template(context)
        template = plain_refs(context.fragment)
    return template


def plain_refs(value: Any) -> Any:
    """`Ref: !Sub "${Loop}Name"` (a loop's way to name a resource it did not make) as the plain Ref the
    transform leaves once the loop variable is substituted; SAM CLI's expansion keeps the Sub."""
    if isinstance(value, list):
        return [plain_refs(v) for v in value]
    if not isinstance(value, dict):
        return value
    target = value.get("Ref") if len(value) == 1 else None
    if isinstance(target, dict) and list(target) == ["Fn::Sub"] and isinstance(target["Fn::Sub"], str):
        if "${" not in target["Fn::Sub"]:
            return {"Ref": target["Fn::Sub"]}
    return {k: plain_refs(v) for k, v in value.items()}


# samtranslator's IntrinsicsResolver only substitutes parameters (GetAtt and resource Refs stay
# unresolved) and moto's cloudformation.parsing.clean_json needs moto's own ResourceMap, so the
# values of the resources created locally are resolved here.
def bucket_name(r: Resolver, lid: str, props: dict[str, Any]) -> str:
    """A bucket's name locally: its BucketName, else `<stack>-<logical id>` (CloudFormation generates one
    in AWS). The bootstrap creates it under this name; the poller writes failure objects to it."""
    return r.resolve(props.get("BucketName")) or f"{r.pseudo['AWS::StackName']}-{lid.lower()}"


class Resolver:
    """Resolves Ref/GetAtt/Sub/If/Equals/Not/Join/Split/Select/FindInMap against parameter values and a map of
    already-created local resources ({logical id: {"Ref": ..., "<Attr>": ...}})."""

    def __init__(self, template: dict[str, Any], overrides: dict[str, str] | None = None,
                 pseudo: dict[str, str] | None = None):
        self.template = template
        self.pseudo = {**PSEUDO, **(pseudo or {})}
        self.params: dict[str, Any] = {}
        for name, spec in (template.get("Parameters") or {}).items():
            self.params[name] = spec.get("Default")
        self.params.update(overrides or {})
        # A list parameter's value is a list (`"a,b"` as a deploy gives it; "" is [""], as CloudFormation has it).
        for name, spec in (template.get("Parameters") or {}).items():
            is_list = spec.get("Type") == "CommaDelimitedList" or str(spec.get("Type", "")).startswith("List<")
            if is_list and isinstance(self.params[name], str):
                self.params[name] = [item.strip() for item in self.params[name].split(",")]
        self.resources: dict[str, dict[str, Any]] = {}
        self._conditions: dict[str, bool] = {}

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            self._conditions[name] = bool(self.resolve(self.template["Conditions"][name]))
        return self._conditions[name]

    def ref(self, name: str) -> Any:
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.params:
            return self.params[name]
        if name in self.resources and "Ref" in self.resources[name]:
            return self.resources[name]["Ref"]
        raise KeyError(f"cannot resolve Ref {name} locally")

    def get_att(self, name: str, attr: str) -> Any:
        try:
            return self.resources[name][attr]
        except KeyError:
            raise KeyError(f"cannot resolve GetAtt {name}.{attr} locally") from None

    def sub(self, arg: Any) -> str:
        if isinstance(arg, list):
            text, extra = arg[0], {k: self.resolve(v) for k, v in arg[1].items()}
        else:
            text, extra = arg, {}
        out, i = [], 0
        while i < len(text):
            if text.startswith("${!", i):
                out.append("${")
                i += 3
                continue
            if text.startswith("${", i):
                j = text.index("}", i)
                var = text[i + 2 : j]
                if var in extra:
                    out.append(str(extra[var]))
                elif "." in var and var.split(".", 1)[0] in self.resources:
                    res, att = var.split(".", 1)
                    out.append(str(self.get_att(res, att)))
                else:
                    out.append(str(self.ref(var)))
                i = j + 1
                continue
            out.append(text[i])
            i += 1
        return "".join(out)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (k, v), = value.items()
            if k == "Ref":
                return self.ref(v)
            if k == "Fn::GetAtt":
                parts = v if isinstance(v, list) else v.split(".", 1)
                return self.get_att(parts[0], parts[1])
            if k == "Fn::Sub":
                return self.sub(v)
            if k == "Fn::If":
                return self.resolve(v[1] if self.condition(v[0]) else v[2])
            if k == "Fn::Equals":
                a, b = (self.resolve(x) for x in v)
                return str(a) == str(b)
            if k == "Fn::Not":
                return not self.resolve(v[0])
            if k == "Fn::And":
                return all(self.resolve(x) for x in v)
            if k == "Fn::Or":
                return any(self.resolve(x) for x in v)
            if k == "Condition":
                return self.condition(v)
            if k == "Fn::Split":
                return str(self.resolve(v[1])).split(v[0])
            if k == "Fn::Select":
                return self.resolve(v[1])[int(self.resolve(v[0]))]
            if k == "Fn::Join":
                items = self.resolve(v[1])
                return v[0].join(str(x) for x in items)
            # The Rules section's own functions (a rule's assertions can be evaluated too).
            if k == "Fn::Contains":
                return self.resolve(v[1]) in self.resolve(v[0])
            if k == "Fn::EachMemberEquals":
                return all(x == self.resolve(v[1]) for x in self.resolve(v[0]))
            if k == "Fn::FindInMap":
                name, top, second = (self.resolve(x) for x in v)
                return self.template["Mappings"][name][top][second]
            if k == "Fn::ToJsonString":
                return json.dumps(self.resolve(v), separators=(",", ":"))
        return {k: self.resolve(v) for k, v in value.items()}
