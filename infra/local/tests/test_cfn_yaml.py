"""cfn_yaml.py: template.yaml through cfn-lint's decoder, and the local intrinsic resolver."""

from __future__ import annotations

import json
import os
import tempfile
import unittest

import cfn_yaml

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "..")
TEMPLATE = os.path.join(ROOT, "template.yaml")
SCHEMAS = os.path.join(ROOT, "infra", "events", "schemas.yaml")


class LoadTemplateTest(unittest.TestCase):
    template: dict

    @classmethod
    def setUpClass(cls) -> None:
        cls.template = cfn_yaml.load_template(TEMPLATE)

    def test_short_forms_become_the_long_json_form(self) -> None:
        res = self.template["Resources"]
        self.assertEqual(res["EgressEventBus"]["Properties"]["Name"], {"Ref": "AWS::StackName"})
        stream = res["PublishEventsFunction"]["Properties"]["Events"]["RequestStream"]["Properties"]["Stream"]
        own = stream["Fn::If"][1]
        self.assertEqual(own, {"Fn::GetAtt": ["EgressTable", "StreamArn"]})
        self.assertIsInstance(own["Fn::GetAtt"], list)
        self.assertEqual(self.template["Conditions"]["UseJwt"], {"Fn::Equals": [{"Ref": "AuthMode"}, "JWT"]})

    def test_behaves_as_plain_json(self) -> None:
        self.assertEqual(json.loads(json.dumps(self.template)), self.template)

    def test_resolver(self) -> None:
        r = cfn_yaml.Resolver(self.template)
        r.resources["ApprovalsQueue"] = {"Ref": "http://q/egress-approvals", "Arn": "arn:q"}
        r.resources["ApprovalsRule"] = {"Ref": "egress-require-approval", "Arn": "arn:rule"}
        r.resources["ApprovalOutcomesRule"] = {"Ref": "egress-approval-outcomes", "Arn": "arn:outcomes"}
        policy = r.resolve(self.template["Resources"]["ApprovalsQueuePolicy"]["Properties"])
        self.assertEqual(policy["Queues"], ["http://q/egress-approvals"])
        statement = policy["PolicyDocument"]["Statement"][0]
        self.assertEqual((statement["Resource"], statement["Condition"]["ArnEquals"]["aws:SourceArn"]),
                         ("arn:q", ["arn:rule", "arn:outcomes"]))
        # The registry lives in the nested stack, named from the parent's parameters.
        params = r.resolve(self.template["Resources"]["EventSchemas"]["Properties"]["Parameters"])
        schemas = cfn_yaml.load_template(SCHEMAS)
        registry = cfn_yaml.Resolver(schemas, params).resolve(
            schemas["Resources"]["EgressSchemaRegistry"]["Properties"]
        )
        # schemas-<the stack id's UUID>: within registry names' 64 characters for any stack name.
        self.assertEqual(registry["RegistryName"], "schemas-" + cfn_yaml.PSEUDO["AWS::StackId"].rsplit("/", 1)[1])
        self.assertLessEqual(len(registry["RegistryName"]), 64)
        self.assertFalse(r.condition("UseJwt"))
        # Names are scoped to the stack; the local stack is named "egress".
        table = r.resolve(self.template["Resources"]["EgressTable"]["Properties"]["TableName"])
        self.assertEqual(table, "egress-sec_egress_requests")
        self.assertTrue(r.condition("PolicyInS3") and r.condition("CreatePolicyBucket"))
        self.assertFalse(r.condition("UsePolicyParameter"))

    def test_for_each_loops_expand_to_the_resources_cloudformation_makes(self) -> None:
        res = self.template["Resources"]
        self.assertFalse([k for k in res if k.startswith("Fn::ForEach::")])
        # Every function and metric of the loop, under the logical ids the stack had before (a changed id
        # would make CloudFormation delete the alarm it just created under the same name).
        for function in ("CreateRequest", "ListRequests", "Approvals", "ProxyTokens", "PublishEvents"):
            for metric in ("Errors", "Throttles"):
                props = res[f"{function}{metric}Alarm"]["Properties"]
                self.assertEqual(props["MetricName"], metric)
                dimension = {"Name": "FunctionName", "Value": {"Ref": f"{function}Function"}}
                self.assertEqual(props["Dimensions"], [dimension])
        r = cfn_yaml.Resolver(self.template)
        lost = res["ApprovalOutcomesRuleEventsLostAlarm"]["Properties"]
        self.assertEqual(r.resolve(lost["AlarmName"]), "egress-approval-outcomes-rule-events-lost")
        self.assertEqual(r.resolve(lost["MetricName"]), "InvocationsFailedToBeSentToDlq")
        self.assertEqual(r.resolve(res["ApprovalsErrorsAlarm"]["Properties"]["AlarmDescription"]),
                         "approvals failed invocations (crashes, timeouts). "
                         "Runbook: docs/OPERATIONS.md#dashboard-and-alarms")

    def test_a_template_without_language_extensions_keeps_its_keys(self) -> None:
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
            f.write("Resources:\n  Fn::ForEach::X:\n    - I\n    - [a]\n    - Q${I}:\n        Type: AWS::SQS::Queue\n")
        self.addCleanup(os.unlink, f.name)
        self.assertIn("Fn::ForEach::X", cfn_yaml.load_template(f.name)["Resources"])

    def test_invalid_template_names_file_and_line(self) -> None:
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
            f.write("Resources:\n  A: 1\n  A: 2\n")
        self.addCleanup(os.unlink, f.name)
        with self.assertRaises(SystemExit) as raised:
            cfn_yaml.load_template(f.name)
        self.assertIn(f"{f.name}:3: Duplicate found 'A'", str(raised.exception))


if __name__ == "__main__":
    unittest.main()
