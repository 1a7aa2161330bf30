#!/usr/bin/env python3
"""Create the local stack's resources from template.yaml's own definitions (one source of truth):

- DynamoDB Local: every AWS::DynamoDB::Table (keys, attributes, GSIs, stream, TTL);
- moto: every AWS::Events::EventBus, every AWS::SQS::Queue, every AWS::Events::Rule with its event
  pattern and its SQS targets; the kill-switch parameter the functions read, created `off` only if it
  does not exist (no deploy may reset it); every AWS::SSM::Parameter; every
  AWS::SecretsManager::Secret (the cursor and proxy-token keys: LOCAL_SECRETS, from local.env); every AWS::S3::Bucket
  (the policy bucket, versioned, holding infra/policy/default.yaml in JSON form at PolicyObjectKey; the
  publisher's failure bucket, its EventBridge notifications on);
  resources whose Condition is false are skipped, as CloudFormation does;
- local only: queue `egress-all-events` bound by rule `egress-all-events` ({"source":["egress.gateway"]})
  so tests can see every event.

Idempotent: what exists is kept (rules, targets and parameters are re-put). Writes
.local/run/stack.env (endpoints, names, queue URLs, stream ARN) and .local/run/watch.env (the
environment `cargo lambda watch` gets through --env-file).
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

import boto3
import yaml
from botocore.config import Config
from botocore.exceptions import ClientError

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import local_env
from cfn_yaml import PSEUDO, Resolver, bucket_name, load_template

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TEMPLATE = os.path.join(ROOT, "template.yaml")
POLICY_FILE = os.path.join(ROOT, "infra", "policy", "default.yaml")
RUN_DIR = os.path.join(ROOT, ".local", "run")

REGION = PSEUDO["AWS::Region"]
ACCOUNT = PSEUDO["AWS::AccountId"]
DYNAMODB_PORT = int(local_env.setting("DYNAMODB_PORT"))
MOTO_PORT = int(local_env.setting("MOTO_PORT"))
LAMBDA_PORT = int(local_env.setting("LAMBDA_PORT"))
DYNAMODB_URL = f"http://127.0.0.1:{DYNAMODB_PORT}"
MOTO_URL = f"http://127.0.0.1:{MOTO_PORT}"
# The local.env setting whose value stands in for each secret the stack generates in AWS.
LOCAL_SECRETS = {"CursorKeySecret": "LOCAL_CURSOR_KEY", "ProxyKeySecret": "LOCAL_PROXY_KEY"}

ALL_EVENTS = "egress-all-events"
ALL_EVENTS_PATTERN = {"source": ["egress.gateway"]}


def log(msg: str) -> None:
    print(f"[bootstrap] {msg}", file=sys.stderr, flush=True)


def client(service: str, endpoint: str):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        aws_session_token="test",
        config=Config(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=5, read_timeout=30),
    )


RESOLVER: Resolver | None = None


def resources_of(template: dict[str, Any], rtype: str) -> list[tuple[str, dict[str, Any]]]:
    """The resources of a type that the stack would create (their Condition, if any, holds)."""
    return [
        (lid, res.get("Properties") or {})
        for lid, res in (template.get("Resources") or {}).items()
        if res.get("Type") == rtype
        and (RESOLVER is None or "Condition" not in res or RESOLVER.condition(res["Condition"]))
    ]


# ----------------------------------------------------------------------------------------------
# DynamoDB
# ----------------------------------------------------------------------------------------------
def create_table(ddb, r: Resolver, lid: str, props: dict[str, Any]) -> str:
    p = r.resolve(props)
    name = p["TableName"]
    args: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": p["AttributeDefinitions"],
        "KeySchema": p["KeySchema"],
        "BillingMode": p.get("BillingMode", "PROVISIONED"),
    }
    if args["BillingMode"] == "PROVISIONED":
        args["ProvisionedThroughput"] = p.get("ProvisionedThroughput") or {
            "ReadCapacityUnits": 5,
            "WriteCapacityUnits": 5,
        }
    gsis = []
    for g in p.get("GlobalSecondaryIndexes") or []:
        gsi = {"IndexName": g["IndexName"], "KeySchema": g["KeySchema"], "Projection": g["Projection"]}
        if args["BillingMode"] == "PROVISIONED":
            gsi["ProvisionedThroughput"] = g.get("ProvisionedThroughput") or {
                "ReadCapacityUnits": 5,
                "WriteCapacityUnits": 5,
            }
        gsis.append(gsi)
    if gsis:
        args["GlobalSecondaryIndexes"] = gsis
    if p.get("LocalSecondaryIndexes"):
        args["LocalSecondaryIndexes"] = p["LocalSecondaryIndexes"]
    stream = p.get("StreamSpecification")
    if stream:
        args["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    try:
        ddb.create_table(**args)
        log(f"table {name} created ({lid})")
    except ClientError as e:
        if e.response["Error"]["Code"] != "ResourceInUseException":
            raise
        log(f"table {name} exists")
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 100})

    ttl = p.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        current = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        if current.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
            ddb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
            )
            log(f"table {name}: TTL on {ttl['AttributeName']}")
    # PointInTimeRecovery and SSE have no local meaning; DynamoDB Local ignores them.
    desc = ddb.describe_table(TableName=name)["Table"]
    r.resources[lid] = {"Ref": name, "Arn": desc["TableArn"], "StreamArn": desc.get("LatestStreamArn", "")}
    return name


# ----------------------------------------------------------------------------------------------
# SQS / EventBridge / SSM (moto)
# ----------------------------------------------------------------------------------------------
def create_queue(sqs, name: str, attributes: dict[str, str] | None = None) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name, Attributes=attributes or {})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def queue_attributes(p: dict[str, Any]) -> dict[str, str]:
    keep = ("MessageRetentionPeriod", "VisibilityTimeout", "DelaySeconds", "ReceiveMessageWaitTimeSeconds")
    return {k: str(p[k]) for k in keep if k in p}


def create_bus(events, name: str) -> str:
    try:
        return events.create_event_bus(Name=name)["EventBusArn"]
    except ClientError as e:
        if e.response["Error"]["Code"] != "ResourceAlreadyExistsException":
            raise
        return events.describe_event_bus(Name=name)["Arn"]


def put_rule(events, name: str, bus: str, pattern: dict[str, Any], targets: list[dict[str, str]],
             description: str = "") -> str:
    arn = events.put_rule(
        Name=name,
        EventBusName=bus,
        EventPattern=json.dumps(pattern),
        State="ENABLED",
        Description=description,
    )["RuleArn"]
    if targets:
        events.put_targets(Rule=name, EventBusName=bus, Targets=targets)
    return arn


def put_secret(sm, name: str, value: str) -> str:
    try:
        return sm.create_secret(Name=name, SecretString=value)["ARN"]
    except ClientError as e:
        if e.response["Error"]["Code"] != "ResourceExistsException":
            raise
        return sm.put_secret_value(SecretId=name, SecretString=value)["ARN"]


def create_bucket(s3, name: str, p: dict[str, Any]) -> None:
    try:
        s3.create_bucket(Bucket=name)
    except ClientError as e:
        if e.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise
    if (p.get("VersioningConfiguration") or {}).get("Status") == "Enabled":
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    # "Object Created" and the other events to the default bus, where the template's rules pick them up.
    if ((p.get("NotificationConfiguration") or {}).get("EventBridgeConfiguration") or {}).get("EventBridgeEnabled"):
        s3.put_bucket_notification_configuration(
            Bucket=name, NotificationConfiguration={"EventBridgeConfiguration": {}}
        )


def function_variable(template: dict, name: str) -> Any:
    """The definition of environment variable `name` in the one function of the template that sets it."""
    found = [
        props["Environment"]["Variables"][name]
        for _, props in resources_of(template, "AWS::Serverless::Function")
        if name in props.get("Environment", {}).get("Variables", {})
    ]
    if len(found) != 1:
        raise SystemExit(f"bootstrap: {name} is set by {len(found)} functions of the template, expected one")
    return found[0]


def function_environment(template: dict, r: Resolver) -> dict[str, str]:
    """The functions' environment as the template gives it (Globals, then each function's own), resolved
    against the local resources: the local functions read what they read in AWS, by the same names. One
    watch.env serves every function, so a name two functions set to different values is an error."""
    sets = [((template.get("Globals") or {}).get("Function") or {}).get("Environment", {}).get("Variables", {})]
    functions = resources_of(template, "AWS::Serverless::Function")
    sets += [p.get("Environment", {}).get("Variables", {}) for _, p in functions]
    env: dict[str, str] = {}
    for variables in sets:
        for name, value in variables.items():
            resolved = r.resolve(value)
            if resolved is None:  # AWS::NoValue: not set
                continue
            text = str(resolved)
            if env.get(name, text) != text:
                raise SystemExit(f"bootstrap: functions set {name} to {env[name]!r} and {text!r}; expected one value")
            env[name] = text
    return env


def logging_env(template: dict) -> dict[str, str]:
    """What Lambda sets from the functions' LoggingConfig (advanced logging controls), so the functions
    under `cargo lambda watch` log as they do in AWS: AWS_LAMBDA_LOG_FORMAT, and AWS_LAMBDA_LOG_LEVEL when
    an ApplicationLogLevel is set. The template gives every function the same; a difference is an error."""
    settings = [props.get("LoggingConfig", {}) for _, props in resources_of(template, "AWS::Serverless::Function")]
    formats = {s.get("LogFormat", "Text") for s in settings}
    levels = {s.get("ApplicationLogLevel") for s in settings}
    if len(formats) != 1 or len(levels) != 1:
        raise SystemExit(f"bootstrap: functions differ in LoggingConfig ({formats}, {levels}); expected one setting")
    env = {"AWS_LAMBDA_LOG_FORMAT": formats.pop()}
    level = levels.pop()
    if level:
        env["AWS_LAMBDA_LOG_LEVEL"] = level
    return env


def put_parameter(ssm, name: str, value: str, secure: bool = False) -> None:
    args: dict[str, Any] = {
        "Name": name,
        "Value": value,
        "Type": "SecureString" if secure else "String",
        "Overwrite": True,
    }
    if len(value.encode()) > 4096:
        args["Tier"] = "Advanced"
    ssm.put_parameter(**args)


def main() -> int:
    global RESOLVER
    template = load_template(TEMPLATE)
    r = RESOLVER = Resolver(template)
    ddb = client("dynamodb", DYNAMODB_URL)
    sqs = client("sqs", MOTO_URL)
    events = client("events", MOTO_URL)
    ssm = client("ssm", MOTO_URL)
    s3 = client("s3", MOTO_URL)
    secrets = client("secretsmanager", MOTO_URL)
    stack = PSEUDO["AWS::StackName"]

    env: dict[str, str] = {}

    # Tables
    tables = resources_of(template, "AWS::DynamoDB::Table")
    for lid, props in tables:
        create_table(ddb, r, lid, props)

    # Queues (the template's own: DLQ, rule targets)
    queue_urls: dict[str, str] = {}
    for lid, props in resources_of(template, "AWS::SQS::Queue"):
        p = r.resolve(props)
        name = p.get("QueueName") or lid
        url, arn = create_queue(sqs, name, queue_attributes(p))
        r.resources[lid] = {"Ref": url, "Arn": arn, "QueueName": name, "QueueUrl": url}
        queue_urls[name] = url
        log(f"queue {name} ({lid}) ready")

    # Buses
    buses: dict[str, str] = {}
    for lid, props in resources_of(template, "AWS::Events::EventBus"):
        name = r.resolve(props)["Name"]
        arn = create_bus(events, name)
        r.resources[lid] = {"Ref": name, "Arn": arn, "Name": name}
        buses[lid] = name
        log(f"event bus {name} ({lid}) ready")
    if not buses:
        log("template has no AWS::Events::EventBus")
        return 1
    main_bus = next(iter(buses.values()))

    # Buckets (the policy bucket when the stack creates it, the publisher's failure bucket), before the
    # rules: a rule's pattern can name a bucket.
    for lid, props in resources_of(template, "AWS::S3::Bucket"):
        p = r.resolve(props)
        name = bucket_name(r, lid, props)
        create_bucket(s3, name, p)
        r.resources[lid] = {"Ref": name, "Arn": f"arn:aws:s3:::{name}"}
        log(f"bucket {name} ({lid}) ready")
    # Rules with their event patterns and SQS targets
    for lid, props in resources_of(template, "AWS::Events::Rule"):
        p = r.resolve(props)
        name = p.get("Name") or lid
        bus = p.get("EventBusName") or "default"
        targets = []
        for t in p.get("Targets") or []:
            if ":sqs:" not in t["Arn"]:
                log(f"rule {name}: skipping non-SQS target {t['Id']}")
                continue
            # The retry policy and dead-letter queue too: moto keeps them as given, so the local rules
            # are the template's (a missing DLQ shows in list-targets-by-rule).
            targets.append({k: t[k] for k in ("Id", "Arn", "RetryPolicy", "DeadLetterConfig") if k in t})
        arn = put_rule(events, name, bus, p["EventPattern"], targets, p.get("Description", ""))
        # CloudFormation's Ref of a rule on a custom bus is "<bus>|<rule>" (the template splits it).
        r.resources[lid] = {"Ref": name if bus == "default" else f"{bus}|{name}", "Arn": arn}
        log(f"rule {name} on {bus} -> {[t['Arn'].rsplit(':', 1)[-1] for t in targets]}")

    # Queue policies: moto does not enforce them, but keep the local queues faithful.
    for _lid, props in resources_of(template, "AWS::SQS::QueuePolicy"):
        p = r.resolve(props)
        for url in p.get("Queues") or []:
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(p["PolicyDocument"])})

    # Local only: a queue that sees every egress event.
    all_url, all_arn = create_queue(sqs, ALL_EVENTS)
    put_rule(events, ALL_EVENTS, main_bus, ALL_EVENTS_PATTERN, [{"Id": "all-events", "Arn": all_arn}],
             "local only: every egress event, for tests")
    queue_urls[ALL_EVENTS] = all_url
    log(f"rule {ALL_EVENTS} on {main_bus} -> {ALL_EVENTS}")

    # The kill switch is no resource of the template (a deploy must never reset it): like an operator's
    # `egress-admin kill-switch release` on a new stack, create it `off` only where it does not exist, so
    # re-running the bootstrap leaves an engaged switch engaged.
    kill_switch = r.resolve(function_variable(template, "EGRESS_KILL_SWITCH_PARAMETER"))
    try:
        ssm.put_parameter(Name=kill_switch, Value="off", Type="String", Overwrite=False)
        log(f"ssm {kill_switch} <- 'off' (created)")
    except ClientError as e:
        if e.response["Error"]["Code"] != "ParameterAlreadyExists":
            raise
        log(f"ssm {kill_switch} kept as it is")

    # SSM parameters of the template (none today: the policy parameter is the operator's too)
    for lid, props in resources_of(template, "AWS::SSM::Parameter"):
        p = r.resolve(props)
        put_parameter(ssm, p["Name"], p["Value"], secure=p.get("Type") == "SecureString")
        r.resources[lid] = {"Ref": p["Name"]}
        log(f"ssm {p['Name']} <- {p['Value']!r} ({lid})")

    # Secrets (the cursor key, the proxy-token key): a fixed local value where AWS generates one
    for lid, props in resources_of(template, "AWS::SecretsManager::Secret"):
        name = props.get("Name") or f"{stack}/{lid}"
        setting = LOCAL_SECRETS.get(lid)
        if setting is None:
            raise SystemExit(f"bootstrap: no local value for secret {lid}: add it to LOCAL_SECRETS and local.env")
        arn = put_secret(secrets, name, local_env.setting(setting))
        r.resources[lid] = {"Ref": arn, "Id": arn}
        log(f"secret {name} ({lid}) <- {setting}")

    policy_uri = ""
    if r.condition("PolicyInS3"):
        bucket = r.resolve({"Fn::If": ["CreatePolicyBucket", {"Ref": "PolicyBucket"}, {"Ref": "PolicyBucketName"}]})
        key = r.params["PolicyObjectKey"]
        with open(POLICY_FILE, encoding="utf-8") as f:
            document = yaml.safe_load(f)
        s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(document).encode(), ContentType="application/json")
        policy_uri = f"s3://{bucket}/{key}"
        log(f"{policy_uri} <- infra/policy/default.yaml (JSON form)")

    # Environment files
    table_lid, _table_props = tables[0]
    table = r.resources[table_lid]
    endpoints = {
        "AWS_ENDPOINT_URL_DYNAMODB": DYNAMODB_URL,
        "AWS_ENDPOINT_URL_DYNAMODB_STREAMS": DYNAMODB_URL,
        "AWS_ENDPOINT_URL_EVENTBRIDGE": MOTO_URL,
        "AWS_ENDPOINT_URL_SQS": MOTO_URL,
        "AWS_ENDPOINT_URL_SSM": MOTO_URL,
        "AWS_ENDPOINT_URL_S3": MOTO_URL,
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": MOTO_URL,
    }
    # Everything local.env names (ports, region, dummy credentials, cursor key, log level), as exported.
    creds = {key: local_env.setting(key) for key in local_env.keys()}
    env.update(creds)
    env.update(endpoints)
    # What the functions read (the tests read it too): the same values in stack.env and watch.env.
    functions = function_environment(template, r)
    # Local only: the file wins over S3, so `make dev` reloads edits of infra/policy/default.yaml.
    functions["EGRESS_POLICY_FILE"] = POLICY_FILE
    env.update(functions)
    env.update(
        {
            "EGRESS_TABLE_STREAM_ARN": table["StreamArn"],
            "EGRESS_POLICY_S3_URI": policy_uri,
            "EGRESS_LAMBDA_URL": f"http://127.0.0.1:{LAMBDA_PORT}",
            "EGRESS_API_URL": f"http://127.0.0.1:{LAMBDA_PORT}",
            "EGRESS_ALL_EVENTS_QUEUE_URL": queue_urls[ALL_EVENTS],
            # Where the publisher's given-up batches go (egress-admin redrive --bucket).
            "EGRESS_PUBLISH_FAILURES_BUCKET": r.resources["PublishFailuresBucket"]["Ref"],
        }
    )
    for lid, _props in resources_of(template, "AWS::SQS::Queue"):
        key = "EGRESS_" + r.resources[lid]["QueueName"].upper().replace("-", "_").removeprefix("EGRESS_") + "_QUEUE_URL"
        env[key] = r.resources[lid]["Ref"]
    os.makedirs(RUN_DIR, exist_ok=True)
    write_env(os.path.join(RUN_DIR, "stack.env"), env,
              "Local stack (infra/local/bootstrap.py). Source with: set -a; . .local/run/stack.env; set +a")

    watch_env = dict(creds)
    watch_env.update(endpoints)
    watch_env.update(functions)
    watch_env.update(logging_env(template))
    watch_env["EGRESS_DEV_MODE"] = "1"
    write_env(os.path.join(RUN_DIR, "watch.env"), watch_env,
              "cargo lambda watch --env-file (and Cargo.toml's [workspace.metadata.lambda.watch] env_file)")
    log(f"wrote .local/run/stack.env and .local/run/watch.env (stream {table['StreamArn']})")
    return 0


def write_env(path: str, env: dict[str, str], comment: str) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(f"# {comment}\n# Generated {time.strftime('%Y-%m-%dT%H:%M:%S%z')}; do not edit.\n")
        for k, v in env.items():
            f.write(f"{k}={v}\n")
    os.replace(tmp, path)


if __name__ == "__main__":
    sys.exit(main())
