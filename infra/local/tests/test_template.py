"""template.yaml as operated: nothing fails silently (every rule target has a retry policy and a
dead-letter queue, every rule and every dead-letter queue an alarm, every alarm its runbook section),
and the stack can be recreated (archive name within EventBridge's limit for any stack name, the table a
parameter that can adopt an existing table, outputs for what operators look up, no SAM build cache, a
nested application SAM can upload and CloudFormation may create). Issue 24, items 5 and 6; the runbook is
docs/OPERATIONS.md."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import tomllib
import unittest

import cfn_yaml

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "..")
TEMPLATE = os.path.join(ROOT, "template.yaml")
RUNBOOK = os.path.join(ROOT, "docs", "OPERATIONS.md")
SAMCONFIG = os.path.join(ROOT, "samconfig.toml")
ENV_RS = os.path.join(ROOT, "shared", "src", "env.rs")

# EventBridge's archive names: https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_Archive.html
ARCHIVE_NAME = re.compile(r"^[.\-_A-Za-z0-9]{1,48}$")
# The longest stack name CloudFormation accepts: 128 characters.
LONG_STACK = "e" * 128
LONG_STACK_ID = f"arn:aws:cloudformation:eu-west-1:123456789012:stack/{LONG_STACK}/0c4b8e2a-7d1f-4f3e-8b6a-2e9d5c1a7f30"


def slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def refs(value: object) -> set[str]:
    """The logical ids a template value Refs, at any depth."""
    if isinstance(value, dict):
        found = {value["Ref"]} if isinstance(value.get("Ref"), str) else set()
        return found.union(*(refs(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(refs(v) for v in value))
    return set()


def get_atts(value: object) -> list[list[str]]:
    """The [logical id, attribute] of every GetAtt in a template value, at any depth."""
    if isinstance(value, dict):
        found = [value["Fn::GetAtt"]] if "Fn::GetAtt" in value else []
        return found + [g for v in value.values() for g in get_atts(v)]
    if isinstance(value, list):
        return [g for v in value for g in get_atts(v)]
    return []


def samconfig_environments() -> list[tuple[str, dict]]:
    """samconfig.toml's environments (`default`, `staging`) with their commands' sections."""
    with open(SAMCONFIG, "rb") as f:
        config = tomllib.load(f)
    return [(env, commands) for env, commands in config.items() if isinstance(commands, dict)]


def resources(template: dict, rtype: str) -> dict[str, dict]:
    return {lid: r for lid, r in template["Resources"].items() if r["Type"] == rtype}


class TemplateTest(unittest.TestCase):
    template: dict
    runbook: str

    @classmethod
    def setUpClass(cls) -> None:
        cls.template = cfn_yaml.load_template(TEMPLATE)
        with open(RUNBOOK, encoding="utf-8") as f:
            cls.runbook = f.read()

    def test_every_rule_target_retries_and_has_a_dead_letter_queue(self) -> None:
        queues = resources(self.template, "AWS::SQS::Queue")
        policies = resources(self.template, "AWS::SQS::QueuePolicy")
        rules = resources(self.template, "AWS::Events::Rule")
        self.assertTrue(rules)
        for lid, rule in rules.items():
            for target in rule["Properties"]["Targets"]:
                self.assertIn("RetryPolicy", target, f"{lid}/{target['Id']}")
                dlq = target.get("DeadLetterConfig", {}).get("Arn")
                self.assertEqual(list(dlq or {}), ["Fn::GetAtt"], f"{lid}/{target['Id']}: no dead-letter queue")
                queue, attr = dlq["Fn::GetAtt"]
                self.assertEqual(attr, "Arn")
                self.assertIn(queue, queues)
                # EventBridge may send to it: a queue policy names this rule as the source.
                allowed = [
                    p for p in policies.values()
                    if {"Ref": queue} in p["Properties"]["Queues"]
                    and any(
                        {"Fn::GetAtt": [lid, "Arn"]}
                        in s.get("Condition", {}).get("ArnEquals", {}).get("aws:SourceArn", [])
                        for s in p["Properties"]["PolicyDocument"]["Statement"]
                    )
                ]
                self.assertTrue(allowed, f"{lid}: no policy lets the rule write to {queue}")

    def test_every_rule_and_every_dead_letter_queue_has_an_alarm(self) -> None:
        # MetricName may come from Mappings (alarms written once by Fn::ForEach): resolved, as CloudFormation would.
        metric_of = cfn_yaml.Resolver(self.template).resolve
        alarms = [
            {**a, "Properties": {**a["Properties"], "MetricName": metric_of(a["Properties"]["MetricName"])}}
            for a in resources(self.template, "AWS::CloudWatch::Alarm").values()
        ]

        def alarmed(namespace: str, metric: str, dimension: str, value: dict) -> bool:
            return any(
                a["Properties"]["Namespace"] == namespace
                and a["Properties"]["MetricName"] == metric
                and {"Name": dimension, "Value": value} in a["Properties"].get("Dimensions", [])
                for a in alarms
            )

        rules = resources(self.template, "AWS::Events::Rule")
        for lid, rule in rules.items():
            # The metrics' RuleName is the rule's name. CloudFormation's Ref of a rule is its name on the
            # default bus and "<bus>|<rule>" on a custom bus: each alarm's dimension must resolve to the name.
            r = cfn_yaml.Resolver(self.template)
            on_custom_bus = "EventBusName" in rule["Properties"]
            r.resources[lid] = {"Ref": "egress|the-rule" if on_custom_bus else "the-rule"}
            for metric in ("FailedInvocations", "InvocationsFailedToBeSentToDlq"):
                names = [
                    r.resolve(d["Value"])
                    for a in alarms
                    if a["Properties"]["Namespace"] == "AWS/Events" and a["Properties"]["MetricName"] == metric
                    for d in a["Properties"].get("Dimensions", [])
                    if d["Name"] == "RuleName" and lid in refs(d["Value"])
                ]
                self.assertEqual(names, ["the-rule"], (lid, metric))
        dead_letter_queues = {
            t["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
            for r in rules.values()
            for t in r["Properties"]["Targets"]
        }
        # The publisher's given-up batches: objects in a bucket whose "Object Created" events a rule sends
        # to a queue, alarmed like a dead-letter queue.
        publisher = self.template["Resources"]["PublishEventsFunction"]["Properties"]["Events"]["RequestStream"]
        on_failure = publisher["Properties"]["DestinationConfig"]["OnFailure"]
        self.assertEqual(on_failure["Type"], "S3")
        bucket = on_failure["Destination"]["Fn::GetAtt"][0]
        self.assertTrue(
            self.template["Resources"][bucket]["Properties"]["NotificationConfiguration"]["EventBridgeConfiguration"][
                "EventBridgeEnabled"
            ]
        )
        notices = [
            t["Arn"]["Fn::GetAtt"][0]
            for r in rules.values()
            if r["Properties"]["EventPattern"].get("source") == ["aws.s3"]
            and r["Properties"]["EventPattern"]["detail"]["bucket"]["name"] == [{"Ref": bucket}]
            for t in r["Properties"]["Targets"]
        ]
        self.assertEqual(len(notices), 1, "one rule sends the failure bucket's new objects to a queue")
        dead_letter_queues.update(notices)
        for queue in dead_letter_queues:
            self.assertTrue(
                alarmed(
                    "AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", {"Fn::GetAtt": [queue, "QueueName"]}
                ),
                queue,
            )

    def test_every_function_is_alarmed_on_errors_and_throttles(self) -> None:
        # The loop's list and its Mappings are written by hand beside the functions: a function added to
        # one and not the other would go unwatched, or fail the deploy on a missing map key.
        resolver = cfn_yaml.Resolver(self.template, pseudo={"AWS::StackName": "<stack>"})
        watched = {
            (next(iter(refs(a["Properties"]["Dimensions"]))), a["Properties"]["MetricName"]): resolver.resolve(
                a["Properties"]["AlarmName"]
            )
            for a in resources(self.template, "AWS::CloudWatch::Alarm").values()
            if a["Properties"]["Namespace"] == "AWS/Lambda" and a["Properties"]["MetricName"] in ("Errors", "Throttles")
        }
        functions = resources(self.template, "AWS::Serverless::Function")
        self.assertEqual(set(watched), {(lid, m) for lid in functions for m in ("Errors", "Throttles")})
        for (lid, metric), name in watched.items():
            self.assertRegex(name, rf"^<stack>-[a-z-]+-{metric.lower()}$", lid)

    def test_every_alarm_links_its_runbook_section_and_is_in_the_alarm_table(self) -> None:
        prose = re.sub(r"^```.*?^```", "", self.runbook, flags=re.M | re.S)
        anchors = {slug(m.group(1)) for m in re.finditer(r"^#+ (.+)$", prose, re.M)}
        table = re.findall(r"^\| `(<stack>-[^`]+)` \|", self.runbook, re.M)
        rows = [re.compile("^" + re.escape(row).replace(re.escape("<function>"), "[a-z-]+") + "$") for row in table]
        # Alarms written once by Fn::ForEach take their words from Mappings: resolved, as CloudFormation would.
        resolver = cfn_yaml.Resolver(self.template, pseudo={"AWS::StackName": "<stack>"})
        for lid, alarm in resources(self.template, "AWS::CloudWatch::Alarm").items():
            description = resolver.resolve(alarm["Properties"]["AlarmDescription"])
            m = re.search(r"Runbook: docs/OPERATIONS\.md#([a-z0-9-]+)$", description)
            self.assertIsNotNone(m, f"{lid}: the description does not end with its runbook link")
            self.assertIn(m.group(1), anchors, f"{lid}: no section #{m.group(1)} in OPERATIONS.md")
            self.assertLessEqual(len(description), 1024, lid)
            name = resolver.resolve(alarm["Properties"]["AlarmName"])
            self.assertTrue(any(r.match(name) for r in rows), f"{lid}: {name} is not in OPERATIONS.md's alarm table")

    def archive_name(self, overrides: dict[str, str] | None = None) -> str:
        r = cfn_yaml.Resolver(
            self.template, overrides, pseudo={"AWS::StackName": LONG_STACK, "AWS::StackId": LONG_STACK_ID}
        )
        return r.resolve(self.template["Resources"]["EgressEventArchive"]["Properties"]["ArchiveName"])

    def test_the_archive_name_fits_for_any_stack_name(self) -> None:
        name = self.archive_name()
        self.assertRegex(name, ARCHIVE_NAME)
        self.assertEqual(name, "events-0c4b8e2a-7d1f-4f3e-8b6a-2e9d5c1a7f30")
        # A stack created before the parameter keeps its archive by naming it.
        self.assertEqual(self.archive_name({"EventArchiveName": "egress-events"}), "egress-events")
        pattern = self.template["Parameters"]["EventArchiveName"]["AllowedPattern"]
        self.assertIsNone(re.match(pattern, "x" * 49))
        self.assertIsNotNone(re.match(pattern, "x" * 48))

    def test_the_table_is_created_by_default_and_adopted_with_a_stream(self) -> None:
        res = self.template["Resources"]
        env = self.template["Globals"]["Function"]["Environment"]["Variables"]
        stream = res["PublishEventsFunction"]["Properties"]["Events"]["RequestStream"]["Properties"]["Stream"]
        outputs = self.template["Outputs"]

        r = cfn_yaml.Resolver(self.template)
        self.assertTrue(r.condition(res["EgressTable"]["Condition"]))
        r.resources["EgressTable"] = {"Ref": "egress-sec_egress_requests", "StreamArn": "arn:own-stream"}
        self.assertEqual(r.resolve(res["EgressTable"]["Properties"]["TableName"]), "egress-sec_egress_requests")
        self.assertEqual(r.resolve(env["EGRESS_TABLE"]), "egress-sec_egress_requests")
        self.assertEqual(r.resolve(stream), "arn:own-stream")

        # The adopted table is the one its stream names: TableName cannot point elsewhere.
        restored = "egress-restored-20261207"
        arn = f"arn:aws:dynamodb:us-east-1:123456789012:table/{restored}/stream/2026-12-07T10:00:00.000"
        r = cfn_yaml.Resolver(self.template, {"TableName": "ignored", "ExistingTableStreamArn": arn})
        self.assertFalse(r.condition(res["EgressTable"]["Condition"]))
        self.assertEqual(r.resolve(env["EGRESS_TABLE"]), restored)
        self.assertEqual(r.resolve(stream), arn)
        self.assertEqual(r.resolve(outputs["TableName"]["Value"]), restored)
        self.assertEqual(r.resolve(outputs["TableStreamArn"]["Value"]), arn)
        self.assertRegex(arn, self.template["Parameters"]["ExistingTableStreamArn"]["AllowedPattern"])
        # Every permission on the table names the adopted one, not a resource the stack no longer has.
        for lid, fn in resources(self.template, "AWS::Serverless::Function").items():
            statements = [
                s for p in fn["Properties"].get("Policies", []) if isinstance(p, dict) for s in p.get("Statement", [])
            ]
            for statement in statements:
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                if not any(a.startswith("dynamodb:") for a in actions):
                    continue
                arns = r.resolve(statement["Resource"])
                for a in arns if isinstance(arns, list) else [arns]:
                    self.assertTrue(a.startswith(f"arn:aws:dynamodb:us-east-1:123456789012:table/{restored}"), (lid, a))

    def test_outputs_name_every_function_and_log_group(self) -> None:
        outputs = self.template["Outputs"]
        for lid in resources(self.template, "AWS::Serverless::Function"):
            self.assertEqual(outputs[f"{lid}Name"]["Value"], {"Ref": lid})
            group = lid.removesuffix("Function") + "LogGroup"
            self.assertEqual(outputs[f"{group}Name"]["Value"], {"Ref": group})
            logging = self.template["Resources"][lid]["Properties"]["LoggingConfig"]
            self.assertEqual(logging["LogGroup"], {"Ref": group}, lid)
        self.assertEqual(outputs["ApiId"]["Value"], {"Ref": "EgressHttpApi"})
        self.assertEqual(outputs["EventArchiveName"]["Value"], {"Ref": "EgressEventArchive"})

    def test_sam_builds_without_its_cache_and_keeps_the_archives(self) -> None:
        for env, commands in samconfig_environments():
            build = commands.get("build", {}).get("parameters", {})
            self.assertNotIn("cached", build, env)
            # Stacks deployed before EventArchiveName keep their <stack>-events archive on the next deploy.
            stack = commands["global"]["parameters"]["stack_name"]
            overrides = commands.get("deploy", {}).get("parameters", {}).get("parameter_overrides", "")
            self.assertIn(f"EventArchiveName={stack}-events", overrides.split(), env)

    def test_sam_cli_reads_the_loops_as_configured(self) -> None:
        # SAM CLI expands Fn::ForEach only when asked (samconfig's language_extensions); without it `sam
        # build` fails on the loops. Read as `sam build` reads it, with each environment's setting.
        from samcli.lib.providers.sam_function_provider import SamFunctionProvider
        from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider

        for env, commands in samconfig_environments():
            enabled = {**commands["global"]["parameters"], **commands.get("build", {}).get("parameters", {})}.get(
                "language_extensions", False
            )
            self.assertIs(enabled, True, env)
            stacks, _ = SamLocalStackProvider.get_stacks(TEMPLATE, language_extensions_enabled=enabled)
            functions = {f.name for f in SamFunctionProvider(stacks).get_all()}
            self.assertEqual(functions, set(resources(self.template, "AWS::Serverless::Function")), env)
            alarms = {lid for lid, r in stacks[0].resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
            self.assertEqual(alarms, set(resources(self.template, "AWS::CloudWatch::Alarm")), env)

    def test_nested_applications_are_local_and_their_outputs_exist(self) -> None:
        apps = resources(self.template, "AWS::Serverless::Application")
        self.assertIn("EventSchemas", apps)
        for lid, app in apps.items():
            # A path relative to template.yaml: sam build copies it, sam package/deploy upload it.
            location = app["Properties"]["Location"]
            self.assertIsInstance(location, str, lid)
            self.assertFalse(location.startswith(("/", "s3:", "https:")), lid)
            path = os.path.join(ROOT, location)
            self.assertTrue(os.path.isfile(path), f"{lid}: no {location}")
            nested = cfn_yaml.load_template(path)
            # cfn-lint checks the parameters against the file (E3043), not the outputs the parent reads.
            read = {a[1].removeprefix("Outputs.") for a in get_atts(self.template) if a[0] == lid}
            self.assertTrue(read, lid)
            self.assertLessEqual(read, set(nested.get("Outputs", {})), lid)
        with open(SAMCONFIG, "rb") as f:
            config = tomllib.load(f)
        for env, commands in config.items():
            if isinstance(commands, dict) and "deploy" in commands:
                # sam deploy needs it to create a nested application (SAM docs, sam deploy --capabilities).
                capabilities = commands["deploy"]["parameters"]["capabilities"].split()
                self.assertIn("CAPABILITY_AUTO_EXPAND", capabilities, env)


if __name__ == "__main__":
    unittest.main()


class EnvironmentNamesTest(unittest.TestCase):
    """One name for each setting: every environment variable the template gives a function is a constant of
    shared/src/env.rs (which the functions read), and every constant the template does not set says it is
    local only. A misspelt name in the template would otherwise reach AWS unread (issue 20, item 4)."""

    @staticmethod
    def constants() -> dict[str, str]:
        """env.rs: {variable name: the constant's doc comment}."""
        with open(ENV_RS, encoding="utf-8") as f:
            text = f.read()
        found = re.findall(r"((?:^///.*\n)+)pub const [A-Z0-9_]+: &str = \"([A-Z0-9_]+)\";", text, re.M)
        return {name: doc for doc, name in found}

    @staticmethod
    def template_names(template: dict) -> set[str]:
        sets = [template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})]
        sets += [
            r["Properties"].get("Environment", {}).get("Variables", {})
            for r in resources(template, "AWS::Serverless::Function").values()
        ]
        return {name for variables in sets for name in variables}

    def test_the_template_sets_only_names_the_functions_read(self) -> None:
        constants = self.constants()
        self.assertGreaterEqual(len(constants), 10, "env.rs read")
        names = self.template_names(cfn_yaml.load_template(TEMPLATE))
        self.assertTrue(names)
        self.assertEqual(names - set(constants), set(), "set by the template, read by no function")
        for name in set(constants) - names:
            self.assertIn("local only", constants[name], f"{name}: not set by the template, and not marked local only")

    def test_a_misspelt_name_fails(self) -> None:
        template = cfn_yaml.load_template(TEMPLATE)
        template["Globals"]["Function"]["Environment"]["Variables"]["EGRESS_TABEL"] = "x"
        self.assertIn("EGRESS_TABEL", self.template_names(template) - set(self.constants()))


class RetryBudgetTest(unittest.TestCase):
    """create-request answers within its Lambda timeout: the request path's retry budget
    (shared/src/record/budget.rs) cuts recording before the template's Globals Timeout."""

    def test_recording_is_cut_before_the_function_times_out(self) -> None:
        with open(os.path.join(ROOT, "shared", "src", "record", "budget.rs"), encoding="utf-8") as f:
            budget = f.read()
        m = re.search(r"pub const RECORD_TIMEOUT: Duration = Duration::from_secs\((\d+)\);", budget)
        self.assertIsNotNone(m, "RECORD_TIMEOUT in budget.rs")
        template = cfn_yaml.load_template(TEMPLATE)
        timeout = template["Resources"]["CreateRequestFunction"]["Properties"].get(
            "Timeout", template["Globals"]["Function"]["Timeout"]
        )
        self.assertLess(int(m.group(1)), int(timeout))


class RoutesTest(unittest.TestCase):
    """One set of routes: each function's HttpApi events (what API Gateway routes to it), the API's
    OpenAPI body in the template (its auth per route), infra/openapi.yaml (the contract) and the local
    router of `cargo lambda watch` (Cargo.toml) name the same (method, path) pairs, to the same function
    (issue 20, item 4)."""

    METHODS = ("get", "post", "put", "patch", "delete")

    def test_every_route_is_the_same_everywhere(self) -> None:
        template = cfn_yaml.load_template(TEMPLATE)
        routed: dict[tuple[str, str], str] = {}
        for r in resources(template, "AWS::Serverless::Function").values():
            binary = r["Metadata"]["BuildProperties"]["Binary"]
            for event in (r["Properties"].get("Events") or {}).values():
                if event["Type"] == "HttpApi":
                    key = (event["Properties"]["Method"].upper(), event["Properties"]["Path"])
                    self.assertNotIn(key, routed, f"{key} routed twice")
                    routed[key] = binary
        self.assertGreaterEqual(len(routed), 8)

        body = template["Resources"]["EgressHttpApi"]["Properties"]["DefinitionBody"]["paths"]
        in_body = {(m.upper(), path) for path, ops in body.items() for m in ops if m in self.METHODS}
        self.assertEqual(in_body, set(routed), "the API's OpenAPI body (auth per route) vs the function events")

        contract = cfn_yaml.load_template(os.path.join(ROOT, "infra", "openapi.yaml"))["paths"]
        in_contract = {(m.upper(), path) for path, ops in contract.items() for m in ops if m in self.METHODS}
        self.assertEqual(in_contract, set(routed), "infra/openapi.yaml vs the function events")

        with open(os.path.join(ROOT, "Cargo.toml"), "rb") as f:
            router = tomllib.load(f)["workspace"]["metadata"]["lambda"]["watch"]["router"]
        local = {(e["method"].upper(), path): e["function"] for path, entries in router.items() for e in entries}
        self.assertEqual(local, routed, "cargo lambda watch's router vs the function events")


class MetricNamesTest(unittest.TestCase):
    """The alarms and the dashboards read the metrics the stack writes: every metric name (and, for the
    dashboard's searches, every dimension set) they use in the stack's namespace is one
    shared/src/metrics.rs emits or one of the template's metric filters writes from the proxy's logs, and
    every such metric is on a dashboard or alarmed (issue 20, item 4)."""

    NAMESPACE = "EgressGateway/${AWS::StackName}"

    @staticmethod
    def emitted() -> tuple[set[str], set[tuple[str, ...]]]:
        """metrics.rs: the Metric enum's names, and the dimension sets written anywhere (`&["a", "b"]`)."""
        with open(os.path.join(ROOT, "shared", "src", "metrics.rs"), encoding="utf-8") as f:
            text = f.read()
        body = re.search(r"pub enum Metric in \"PascalCase\" \{(.*?)\n    \}", text, re.S)
        assert body is not None
        names = set(re.findall(r"^\s+([A-Z][A-Za-z]+),$", body.group(1), re.M))
        sets = {tuple(re.findall(r'"([a-z_]+)"', m)) for m in re.findall(r"&\[((?:\"[a-z_]+\"(?:, )?)+)\]", text)}
        return names, sets

    @classmethod
    def filtered(cls, template: dict) -> set[str]:
        """The metrics the template's metric filters write into the stack's namespace (the proxy's logs)."""
        return {
            t["MetricName"]
            for f in resources(template, "AWS::Logs::MetricFilter").values()
            for t in f["Properties"]["MetricTransformations"]
            if t["MetricNamespace"] == {"Fn::Sub": cls.NAMESPACE}
        }

    def test_alarms_and_dashboard_read_what_the_functions_write(self) -> None:
        names, sets = self.emitted()
        self.assertIn("Decisions", names)
        self.assertIn(("decision", "reason"), sets)
        template = cfn_yaml.load_template(TEMPLATE)
        filtered = self.filtered(template)
        self.assertIn("ProxyRefused", filtered)
        self.assertEqual(names & filtered, set(), "a filter writes a name the functions write")
        names |= filtered
        used: set[str] = set()
        for lid, alarm in resources(template, "AWS::CloudWatch::Alarm").items():
            if alarm["Properties"]["Namespace"] == {"Fn::Sub": self.NAMESPACE}:
                self.assertIn(alarm["Properties"]["MetricName"], names, lid)
                used.add(alarm["Properties"]["MetricName"])
        listed: list[str] = []
        searched: list[tuple[str, str]] = []
        for dashboard in resources(template, "AWS::CloudWatch::Dashboard").values():
            sub = dashboard["Properties"]["DashboardBody"]["Fn::Sub"]
            body = sub[0] if isinstance(sub, list) else sub
            listed += re.findall(r'"EgressGateway/\$\{AWS::StackName\}",\s*"([A-Za-z]+)"', body)
            searched += re.findall(
                r"\{EgressGateway/\$\{AWS::StackName\},([a-z_,]+)\} MetricName=\\\"([A-Za-z]+)\\\"", body
            )
        self.assertTrue(listed and searched, "the dashboards' metrics were read")
        for name in listed:
            self.assertIn(name, names, "dashboard")
        for dims, name in searched:
            self.assertIn(name, names, "dashboard search")
            self.assertIn(tuple(dims.split(",")), sets, f"dashboard search {name} by {dims}")
        used |= set(listed) | {name for _, name in searched}
        self.assertEqual(names - used, set(), "written by the stack, seen by no alarm and no dashboard widget")


class ApiContractTest(unittest.TestCase):
    """infra/openapi.yaml says what the code does: its Zone pattern is shared/src/names.rs's
    ZONE_PATTERN, and its problem types are exactly those shared/src/problem.rs constructs (issue 20,
    item 4)."""

    @classmethod
    def setUpClass(cls) -> None:
        with open(os.path.join(ROOT, "infra", "openapi.yaml"), encoding="utf-8") as f:
            cls.openapi_text = f.read()
        cls.openapi = cfn_yaml.load_template(os.path.join(ROOT, "infra", "openapi.yaml"))

    def test_the_zone_pattern_is_the_codes(self) -> None:
        with open(os.path.join(ROOT, "shared", "src", "names.rs"), encoding="utf-8") as f:
            m = re.search(r'pub const ZONE_PATTERN: &str = "([^"]+)";', f.read())
        self.assertIsNotNone(m)
        self.assertEqual(self.openapi["components"]["schemas"]["Zone"]["pattern"], m.group(1))

    def test_the_problem_types_are_the_codes(self) -> None:
        urn = r"urn:egress:problem:[a-z-]+"
        with open(os.path.join(ROOT, "shared", "src", "problem.rs"), encoding="utf-8") as f:
            constructed = set(re.findall(urn, f.read()))
        self.assertGreaterEqual(len(constructed), 10)
        self.assertEqual(set(re.findall(urn, self.openapi_text)), constructed)



# Issue 23: the proxy fleet and the cross-account front door, each only when its parameters ask for it.
PROXY_REQUIRED = {
    "ProxyImageUri": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/egress-proxy:0c4b8e2",
    "ProxyVpcId": "vpc-0123456789abcdef0",
    "ProxySubnetIds": "subnet-0123456789abcdef0,subnet-0123456789abcdef1",
    "ProxyAgentCidr": "10.20.0.0/16",
}
PROXY_ALL = {
    **PROXY_REQUIRED,
    "ProxyExtraPorts": "8443,9418",
    "ProxyDnsFirewallVpcId": "vpc-0fedcba9876543210",
    "ProxyDnsFirewallAllowedNames": "*.ecr.eu-west-1.amazonaws.com,sts.eu-west-1.amazonaws.com",
    "ProxyEndpointServicePrincipals": "arn:aws:iam::210987654321:root",
    "OrganizationId": "o-abcdefghij",
    "CreateRequestReservedConcurrency": "200",
}
# The resource types only the proxy and the function URLs bring.
OPTIONAL_TYPES = {
    "AWS::ECS::Cluster",
    "AWS::ECS::TaskDefinition",
    "AWS::ECS::Service",
    "AWS::IAM::Role",
    "AWS::EC2::SecurityGroup",
    "AWS::EC2::SecurityGroupIngress",
    "AWS::EC2::SecurityGroupEgress",
    "AWS::ElasticLoadBalancingV2::LoadBalancer",
    "AWS::ElasticLoadBalancingV2::TargetGroup",
    "AWS::ElasticLoadBalancingV2::Listener",
    "AWS::ApplicationAutoScaling::ScalableTarget",
    "AWS::ApplicationAutoScaling::ScalingPolicy",
    "AWS::EC2::VPCEndpointService",
    "AWS::EC2::VPCEndpointServicePermissions",
    "AWS::Route53Resolver::FirewallDomainList",
    "AWS::Route53Resolver::FirewallRuleGroup",
    "AWS::Route53Resolver::FirewallRuleGroupAssociation",
    "AWS::Lambda::Url",
    "AWS::Lambda::Permission",
    "AWS::Logs::MetricFilter",
}
OPTIONAL_CONDITIONS = {
    "DeployProxy", "OpenProxyExtraPorts", "DeployDnsFirewall", "DnsFirewallExtraNames", "DeployEndpointService",
    "CrossAccountCallers",
}
ENTRYPOINT = os.path.join(ROOT, "infra", "proxy", "entrypoint.sh")
DOCKERFILE = os.path.join(ROOT, "infra", "proxy", "Dockerfile")


def created(template: dict, r: cfn_yaml.Resolver) -> set[str]:
    """The logical ids the stack would create with the resolver's parameters."""
    return {
        lid for lid, res in template["Resources"].items() if "Condition" not in res or r.condition(res["Condition"])
    }


def broken_rules(template: dict, r: cfn_yaml.Resolver) -> list[str]:
    """The AssertDescription of every Rules assertion that would fail the deploy with these parameters."""
    broken = []
    for rule in template.get("Rules", {}).values():
        if "RuleCondition" in rule and not r.resolve(rule["RuleCondition"]):
            continue
        broken += [a["AssertDescription"] for a in rule["Assertions"] if not r.resolve(a["Assert"])]
    return broken


def task_container(template: dict) -> dict:
    [container] = template["Resources"]["ProxyTaskDefinition"]["Properties"]["ContainerDefinitions"]
    return container


class ProxyTemplateTest(unittest.TestCase):
    """The proxy fleet (ECS Fargate behind an internal NLB), its DNS Firewall and PrivateLink options and the
    organization's function URLs exist only under their conditions; the task runs the entrypoint with what
    it requires, as a role that may call the helper's routes and read the kill switch, nothing else; the
    function URLs are IAM-authorized and open to the organization only (issue 23)."""

    template: dict
    looped: dict

    @classmethod
    def setUpClass(cls) -> None:
        cls.template = cfn_yaml.load_template(TEMPLATE)
        # The extra-port loop iterates the parameter's value: expanded as a deploy with PROXY_ALL would.
        cls.looped = cfn_yaml.load_template(TEMPLATE, {"ProxyExtraPorts": PROXY_ALL["ProxyExtraPorts"]})

    def test_the_proxy_and_the_function_urls_exist_only_when_asked(self) -> None:
        optional = {lid for lid, res in self.looped["Resources"].items() if res["Type"] in OPTIONAL_TYPES}
        self.assertGreaterEqual(len(optional), 30)
        # Defaults: the gateway alone, and no rule stands in the way.
        r = cfn_yaml.Resolver(self.template)
        self.assertEqual(created(self.template, r) & optional, set())
        self.assertEqual({lid for lid in created(self.template, r) if lid.startswith("ProxyDashboard")}, set())
        self.assertEqual(broken_rules(self.template, r), [])
        # An empty ProxyExtraPorts is iterated once, with "" (as CloudFormation does): never created.
        self.assertIn("ProxyTaskEgressPort", self.template["Resources"])
        # The proxy alone.
        r = cfn_yaml.Resolver(self.template, PROXY_REQUIRED)
        alone = created(self.template, r)
        self.assertEqual(broken_rules(self.template, r), [])
        for lid in ("ProxyService", "ProxyLoadBalancer", "ProxyTaskRole", "ProxyDashboard", "ProxyRefusedAlarm"):
            self.assertIn(lid, alone)
        for lid in (
            "ProxyTaskEgressPort", "ProxyEndpointService", "ProxyDnsFirewallAssociation",
            "ProxyDnsFirewallExtraDomains", "CreateRequestUrl",
        ):
            self.assertNotIn(lid, alone)
        # Everything.
        r = cfn_yaml.Resolver(self.looped, PROXY_ALL)
        self.assertEqual(broken_rules(self.looped, r), [])
        everything = created(self.looped, r)
        self.assertLessEqual(optional, everything)
        self.assertLessEqual({"ProxyTaskEgressPort8443", "ProxyTaskEgressPort9418"}, everything)
        self.assertNotIn("ProxyTaskEgressPort", self.looped["Resources"])
        # Each output of an optional resource carries its resource's condition.
        for name, output in self.template["Outputs"].items():
            subs = re.findall(r"\$\{([A-Za-z0-9]+)[.}]", json.dumps(output["Value"]))
            named = refs(output["Value"]) | {g[0] for g in get_atts(output["Value"])} | set(subs)
            res = self.template["Resources"]
            conditions = {res[lid].get("Condition") for lid in named if lid in res} & OPTIONAL_CONDITIONS
            self.assertLessEqual(conditions, {output.get("Condition")}, name)

    def test_the_rules_refuse_an_incomplete_proxy(self) -> None:
        for missing in ("ProxyVpcId", "ProxySubnetIds", "ProxyAgentCidr"):
            r = cfn_yaml.Resolver(self.template, {**PROXY_REQUIRED, missing: ""})
            broken = broken_rules(self.template, r)
            self.assertEqual(len(broken), 1, missing)
            self.assertIn(missing, broken[0])
        # The organization's callers share create-request with the proxy: a reservation bounds them.
        org = {"OrganizationId": "o-abcdefghij"}
        broken = broken_rules(self.template, cfn_yaml.Resolver(self.template, org))
        self.assertEqual(len(broken), 1)
        self.assertIn("CreateRequestReservedConcurrency", broken[0])
        org["CreateRequestReservedConcurrency"] = "100"
        self.assertEqual(broken_rules(self.template, cfn_yaml.Resolver(self.template, org)), [])
        # The helper signs with SigV4: a JWT stack would refuse every decision it asks for.
        jwt = {"AuthMode": "JWT", "JwtIssuer": "https://idp.example.com", "JwtAudience": "egress"}
        self.assertEqual(broken_rules(self.template, cfn_yaml.Resolver(self.template, jwt)), [])
        broken = broken_rules(self.template, cfn_yaml.Resolver(self.template, {**PROXY_REQUIRED, **jwt}))
        self.assertEqual(len(broken), 1)
        self.assertIn("AuthMode=IAM", broken[0])
        # 80 and 443 are open already; a second rule for either would fail the deploy.
        pattern = self.template["Parameters"]["ProxyExtraPorts"]["AllowedPattern"]
        for port in ("", "8443", "9418", "53", "4430", "800"):
            self.assertIsNotNone(re.fullmatch(pattern, port), port)
        for port in ("80", "443", "x", "123456"):
            self.assertIsNone(re.fullmatch(pattern, port), port)
        # Options without the proxy would be ignored silently; the DNS firewall on the proxy's own VPC
        # would refuse every name the proxy resolves.
        for options in (
            {"ProxyDnsFirewallVpcId": "vpc-0fedcba9876543210"},
            {"ProxyEndpointServicePrincipals": "arn:aws:iam::210987654321:root"},
            {"ProxyDnsFirewallAllowedNames": "sts.eu-west-1.amazonaws.com"},
            {**PROXY_REQUIRED, "ProxyDnsFirewallVpcId": PROXY_REQUIRED["ProxyVpcId"]},
        ):
            self.assertTrue(broken_rules(self.template, cfn_yaml.Resolver(self.template, options)), options)

    def test_the_task_sets_what_the_entrypoint_requires_and_nothing_local(self) -> None:
        with open(ENTRYPOINT, encoding="utf-8") as f:
            entrypoint = f.read()
        [line] = [x for x in entrypoint.splitlines() if x.startswith(': "${') and ":?}" in x]
        required = set(re.findall(r"\$\{([A-Z0-9_]+):\?\}", line))
        self.assertGreaterEqual(required, {"EGRESS_GATEWAY_URL", "EGRESS_KILL_SWITCH_PARAMETER"})
        # The entrypoint's own list of what is local or test only.
        local_only = {"EGRESS_GATEWAY_DEV_PRINCIPAL", "EGRESS_PROXY_RANGES_EXCLUDE"}
        for name in local_only:
            self.assertIn(name, entrypoint)
        container = task_container(self.template)
        # Items under a condition are `Fn::If [condition, item, AWS::NoValue]`.
        plain = [e for e in container["Environment"] if "Fn::If" not in e]
        conditional = {e["Fn::If"][0]: e["Fn::If"][1] for e in container["Environment"] if "Fn::If" in e}
        for item in container["Environment"]:
            if "Fn::If" in item:
                self.assertEqual(item["Fn::If"][2], {"Ref": "AWS::NoValue"}, item)
        env = {e["Name"]: e["Value"] for e in plain}
        # Fargate cannot grant CAP_NET_ADMIN for `ss -K`: an engaged kill switch restarts the proxy.
        self.assertEqual(set(env), required | {"EGRESS_PROXY_CUT_TUNNELS"})
        self.assertEqual(env["EGRESS_PROXY_CUT_TUNNELS"], "restart")
        self.assertEqual(set(env) & local_only, set())
        # The proxy's one exception (ProxyGatewayException=on): the API's host, and with callers in other
        # accounts both function URLs' hosts too.
        self.assertEqual(set(conditional), {"ProxyGatewayExceptionOn"})
        hosts = conditional["ProxyGatewayExceptionOn"]
        self.assertEqual(hosts["Name"], "EGRESS_PROXY_GATEWAY_HOSTS")
        self.assertIn("EGRESS_PROXY_GATEWAY_HOSTS", entrypoint)
        cross, api_only = hosts["Value"]["Fn::If"][1:]
        self.assertEqual(hosts["Value"]["Fn::If"][0], "CrossAccountCallers")
        api_host = {"Fn::Sub": "${EgressHttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"}
        self.assertEqual(api_only, api_host)
        parts = cross["Fn::Join"][1]
        self.assertEqual(parts[0], api_host)
        self.assertEqual(
            {p["Fn::Select"][1]["Fn::Split"][1]["Fn::GetAtt"][0] for p in parts[1:]},
            {"CreateRequestUrl", "ProxyTokensUrl"},
        )
        self.assertEqual(env["EGRESS_GATEWAY_URL"], {"Fn::Sub": "https://" + api_host["Fn::Sub"]})
        # The same API and kill switch as the gateway's own.
        self.assertEqual(env["EGRESS_GATEWAY_URL"], self.template["Outputs"]["ApiUrl"]["Value"])
        create = self.template["Resources"]["CreateRequestFunction"]["Properties"]["Environment"]["Variables"]
        self.assertEqual(env["EGRESS_KILL_SWITCH_PARAMETER"], create["EGRESS_KILL_SWITCH_PARAMETER"])
        self.assertEqual(env["AWS_REGION"], {"Ref": "AWS::Region"})
        # ECS ignores the image's HEALTHCHECK: the task definition repeats its test.
        with open(DOCKERFILE, encoding="utf-8") as f:
            m = re.search(r"^HEALTHCHECK .* CMD (.+)$", f.read(), re.M)
        self.assertIsNotNone(m)
        self.assertEqual(container["HealthCheck"]["Command"], ["CMD-SHELL", m.group(1)])
        self.assertEqual([p["ContainerPort"] for p in container["PortMappings"]], [3128])
        props = self.template["Resources"]["ProxyTaskDefinition"]["Properties"]
        self.assertEqual(props["RuntimePlatform"]["CpuArchitecture"], "ARM64")

    def test_the_task_role_calls_the_helpers_routes_and_reads_the_kill_switch_only(self) -> None:
        with open(os.path.join(ROOT, "proxy", "src", "gateway.rs"), encoding="utf-8") as f:
            calls = set(re.findall(r'\.signed\(\s*reqwest::Method::([A-Z]+),\s*"(/[^"]+)"', f.read()))
        self.assertEqual(len(calls), 2, "the helper's gateway calls were read")
        paths = self.template["Resources"]["EgressHttpApi"]["Properties"]["DefinitionBody"]["paths"]
        for method, path in calls:
            self.assertIn(method.lower(), paths[path], (method, path))

        r = cfn_yaml.Resolver(self.template, PROXY_REQUIRED)
        r.resources["EgressHttpApi"] = {"Ref": "a1b2c3d4e5"}
        api = f"arn:aws:execute-api:{r.pseudo['AWS::Region']}:123456789012:a1b2c3d4e5"
        [policy] = self.template["Resources"]["ProxyTaskRole"]["Properties"]["Policies"]
        granted: dict[str, set[str]] = {}
        for statement in r.resolve(policy["PolicyDocument"]["Statement"]):
            self.assertEqual(statement["Effect"], "Allow")
            self.assertNotIn("Condition", statement)
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            arns = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            for action in actions:
                granted.setdefault(action, set()).update(arns)
        kill_switch = r.resolve(
            next(
                s["Resource"]
                for p in self.template["Resources"]["CreateRequestFunction"]["Properties"]["Policies"]
                for s in p.get("Statement", [])
                if s["Action"] == "ssm:GetParameter"
            )
        )
        self.assertEqual(
            granted,
            {
                "execute-api:Invoke": {f"{api}/*/{method}{path}" for method, path in calls},
                "ssm:GetParameter": {kill_switch},
            },
        )
        # Nothing the execution role may do reaches the gateway or the switch.
        [execution] = self.template["Resources"]["ProxyTaskExecutionRole"]["Properties"]["Policies"]
        actions = {a for s in execution["PolicyDocument"]["Statement"] for a in s["Action"]}
        self.assertEqual({a.split(":")[0] for a in actions}, {"ecr", "logs"})

    def test_the_function_urls_are_iam_and_for_the_organization_only(self) -> None:
        res = self.template["Resources"]
        urls = resources(self.template, "AWS::Lambda::Url")
        targets = set()
        for lid, url in urls.items():
            self.assertEqual(url["Condition"], "CrossAccountCallers", lid)
            self.assertEqual(url["Properties"]["AuthType"], "AWS_IAM", lid)
            [[function, attr]] = get_atts(url["Properties"]["TargetFunctionArn"])
            self.assertEqual(attr, "Arn")
            targets.add(function)
        self.assertEqual(targets, {"CreateRequestFunction", "ProxyTokensFunction"})
        permissions = resources(self.template, "AWS::Lambda::Permission")
        actions: dict[str, set[str]] = {}
        for lid, permission in permissions.items():
            p = permission["Properties"]
            self.assertEqual(permission["Condition"], "CrossAccountCallers", lid)
            self.assertEqual(p["Principal"], "*", lid)
            self.assertEqual(p["PrincipalOrgID"], {"Ref": "OrganizationId"}, lid)
            if p["Action"] == "lambda:InvokeFunctionUrl":
                self.assertEqual(p["FunctionUrlAuthType"], "AWS_IAM", lid)
            else:
                # Invoke itself, only through the URL: never the Invoke API for the organization.
                self.assertEqual(p["Action"], "lambda:InvokeFunction", lid)
                self.assertIs(p["InvokedViaFunctionUrl"], True, lid)
            [function] = refs(p["FunctionName"])
            actions.setdefault(function, set()).add(p["Action"])
        self.assertEqual(actions, {f: {"lambda:InvokeFunctionUrl", "lambda:InvokeFunction"} for f in targets})
        # The functions behind them refuse callers from outside the organization, whichever door they used.
        for function in targets:
            value = res[function]["Properties"]["Environment"]["Variables"]["EGRESS_ORGANIZATION_ID"]
            self.assertIsNone(cfn_yaml.Resolver(self.template).resolve(value), function)
            self.assertEqual(cfn_yaml.Resolver(self.template, PROXY_ALL).resolve(value), "o-abcdefghij", function)
        pattern = self.template["Parameters"]["OrganizationId"]["AllowedPattern"]
        self.assertRegex("o-abcdefghij", pattern)
        self.assertIsNone(re.match(pattern, "123456789012"))

    def test_the_linters_accept_the_template_with_the_proxy_and_without(self) -> None:
        # Without: cfn-lint on template.yaml as `make lint` runs it (the defaults are what it resolves; it
        # also checks every branch of every condition). With: cfn-lint (1.58) applies --parameters and
        # --parameter-files only to a template without a Transform, and this one has two, so the values
        # would be silently ignored; the template is linted as CloudFormation will deploy it instead, its
        # loops expanded (SAM CLI's processor) and the SAM transform applied (samtranslator) with the
        # proxy's and the organization's parameters, which the linter then resolves from a parameter file.
        from unittest import mock

        from samtranslator.translator.transform import transform

        venv = os.path.join(ROOT, ".local", "venv", "bin", "cfn-lint")
        cfn_lint = venv if os.path.exists(venv) else shutil.which("cfn-lint")
        self.assertIsNotNone(cfn_lint, "cfn-lint is installed by `make install`")
        run = subprocess.run([cfn_lint, TEMPLATE], capture_output=True, text=True, timeout=600, check=False)
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)

        class NoManagedPolicies:
            """The template names no managed policy by name: nothing to look up in IAM."""

            def load(self) -> dict:
                return {}

        template = json.loads(json.dumps(self.looped))
        template["Transform"] = "AWS::Serverless-2016-10-31"
        # Artefact locations as `sam package` leaves them (the translator accepts only uploaded ones).
        for res in template["Resources"].values():
            if res["Type"] == "AWS::Serverless::Function":
                res["Properties"]["CodeUri"] = "s3://artefacts/function.zip"
            elif res["Type"] == "AWS::Serverless::Application":
                res["Properties"]["Location"] = "https://s3.amazonaws.com/artefacts/schemas.yaml"
        with mock.patch.dict(os.environ, {"AWS_DEFAULT_REGION": "eu-west-1"}):
            deployed = transform(template, dict(PROXY_ALL), NoManagedPolicies())
        deployed.pop("Transform", None)
        lists = {k for k, p in self.template["Parameters"].items() if p["Type"] == "CommaDelimitedList"}
        values = [
            {"ParameterKey": k, "ParameterValue": v.split(",") if k in lists else v} for k, v in PROXY_ALL.items()
        ]
        with tempfile.TemporaryDirectory() as tmp:
            path, params = os.path.join(tmp, "deployed.json"), os.path.join(tmp, "parameters.json")
            with open(path, "w", encoding="utf-8") as f:
                json.dump(deployed, f)
            with open(params, "w", encoding="utf-8") as f:
                json.dump(values, f)
            run = subprocess.run(
                [cfn_lint, path, "--parameter-files", params], capture_output=True, text=True, timeout=600, check=False
            )
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
        self.assertIn("ProxyTaskEgressPort9418", deployed["Resources"])
