"""The proxy as its image runs it (DESIGN §12, "In AWS"), for the lab: read from infra/proxy/Dockerfile
(the final stage's COPY, ENV and ENTRYPOINT) and from the template's task definition (the container's
environment), laid out under a directory instead of a container's root.

No container engine runs here, so the lab builds no image; it installs what the Dockerfile's final stage
copies at the paths it copies them to (under `root`), runs the ENTRYPOINT with those paths, with the
image's ENV and the task definition's variables. Where the lab must differ (addresses in its namespaces,
the local gateway, files the tests read), it says so in LAB_OVERRIDES, and any other difference is an
error.
"""
from __future__ import annotations

import json
import shlex
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
DOCKERFILE = ROOT / "infra/proxy/Dockerfile"
TEMPLATE = ROOT / "template.yaml"

# What the lab sets differently from the image and the task definition, and why. Nothing else may differ.
LAB_OVERRIDES = {
    "EGRESS_GATEWAY_URL": "the local gateway (cargo lambda watch) through the namespace's relay",
    "EGRESS_GATEWAY_DEV_PRINCIPAL": "the local gateway reads the caller from the dev header, not SigV4",
    "AWS_REGION": "the local stack's region",
    "EGRESS_KILL_SWITCH_PARAMETER": "the local stack's parameter",
    "EGRESS_PROXY_LISTEN": "the agents' address in the lab's proxy namespace",
    "EGRESS_PROXY_RUN_DIR": "a directory of this lab run, removed with it",
    "EGRESS_PROXY_DNS": "the lab's DNS server (the task asks the VPC's resolver)",
    "EGRESS_PROXY_ACCESS_LOG": "a file the tests read (the task writes stdout to CloudWatch Logs)",
    "EGRESS_PROXY_CACHE_LOG": "a file the tests read (the task writes stderr to CloudWatch Logs)",
    "EGRESS_PROXY_ACL_CHILDREN": "one acl helper, so the suite can fill its queue",
    "EGRESS_PROXY_ACL_QUEUE": "a short queue, so the suite can overflow it",
    "EGRESS_PROXY_RANGES_EXCLUDE": "the lab's origin lives in 198.18.0.0/15, an internal range",
    "EGRESS_PROXY_GATEWAY_HOSTS": "a lab name on the origin stands in for the gateway's API host (the lab's "
    "gateway is plain HTTP on loopback), so the suite can reach the one exception",
    "EGRESS_PROXY_CUT_TUNNELS": "ss -K (the lab holds CAP_NET_ADMIN); restart, the task's mode, stops the "
    "proxy the suite shares: proxy/tests/watch.rs tests it",
}


def dockerfile_final_stage(path: Path = DOCKERFILE) -> dict:
    """The final stage's COPY instructions, ENV and ENTRYPOINT (exec form), continuation lines joined."""
    lines: list[str] = []
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        if raw.lstrip().startswith("#"):
            continue
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1] + " "
            continue
        lines.append(pending + raw)
        pending = ""
    stages = [[]]
    for line in lines:
        words = line.split(None, 1)
        if not words:
            continue
        if words[0].upper() == "FROM":
            stages.append([])
        stages[-1].append((words[0].upper(), words[1] if len(words) > 1 else ""))
    final = stages[-1]
    env: dict[str, str] = {}
    copies: list[tuple[str | None, str, str]] = []
    entrypoint: list[str] = []
    for op, arg in final:
        if op == "ENV":
            for pair in shlex.split(arg):
                name, _, value = pair.partition("=")
                env[name] = value
        elif op == "COPY":
            parts = arg.split()
            stage = next((p.split("=", 1)[1] for p in parts if p.startswith("--from=")), None)
            src, dst = [p for p in parts if not p.startswith("--")]
            copies.append((stage, src, dst))
        elif op == "ENTRYPOINT":
            entrypoint = json.loads(arg)
    if not entrypoint or not copies:
        raise ValueError(f"{path}: no ENTRYPOINT or COPY in the final stage")
    return {"env": env, "copies": copies, "entrypoint": entrypoint}


def task_environment(template: Path = TEMPLATE) -> dict[str, object]:
    """The proxy container's environment in the template's task definition: {name: value as written}."""
    sys.path.insert(0, str(ROOT / "infra/local"))
    import cfn_yaml  # infra/local's loader: expands the template's loops with SAM CLI's processor

    resources = cfn_yaml.load_template(template)["Resources"]
    tasks = [r for r in resources.values() if r.get("Type") == "AWS::ECS::TaskDefinition"]
    if len(tasks) != 1:
        raise ValueError(f"{template}: {len(tasks)} task definitions, expected the proxy's one")
    (container,) = tasks[0]["Properties"]["ContainerDefinitions"]
    # A variable under a condition (`Fn::If [condition, item, AWS::NoValue]`) counts as set: the lab
    # runs with every option on, and overrides what it cannot reproduce.
    items = [v["Fn::If"][1] if "Fn::If" in v else v for v in container.get("Environment", [])]
    return {v["Name"]: v["Value"] for v in items}


def install(root: Path, helper: Path, stage: dict) -> list[str]:
    """Lays out the final stage's COPY targets under `root`, the build stage's helper being `helper` (the
    workspace's build of the same binary); returns the ENTRYPOINT with its paths under `root`."""
    for from_stage, src, dst in stage["copies"]:
        target = root / dst.lstrip("/")
        if from_stage is not None:
            if Path(src).name != helper.name:
                raise ValueError(f"COPY --from={from_stage} {src}: the lab provides only {helper.name}")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(helper, target)
            continue
        source = ROOT / src
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return [str(root / a.lstrip("/")) if a.startswith("/") and (root / a.lstrip("/")).exists() else a
            for a in stage["entrypoint"]]


def environment(root: Path, stage: dict, task: dict[str, object], lab: dict[str, str]) -> dict[str, str]:
    """The image's ENV, then the task definition's variables, then the lab's overrides (each one of
    LAB_OVERRIDES), with the image's binaries first on PATH. A task variable the lab does not override
    must be a plain string (it is used as written)."""
    unknown = set(lab) - set(LAB_OVERRIDES)
    if unknown:
        raise ValueError(f"lab settings not declared in LAB_OVERRIDES: {sorted(unknown)}")
    env = dict(stage["env"])
    for name, value in task.items():
        if name in lab:
            continue
        if not isinstance(value, str):
            raise ValueError(f"task variable {name} is {value!r}: the lab cannot reproduce it")
        env[name] = value
    env.update(lab)
    return env


def image_path(root: Path, base_path: str) -> str:
    """PATH with the image's binary directories (where its COPY put executables) first."""
    return f"{root / 'usr/local/bin'}:{base_path}"
