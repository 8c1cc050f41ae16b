"""The real `aws cloudformation deploy` CLI deploys the stack to moto's server over HTTP (less
what moto cannot create, see prune.py), and the pieces exist as the code expects them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from petshore.contract import CARTS_HASH_KEY, SERVICES, carts_table_name
from templates.compute import path_patterns
from tests.helpers import emulator_client
from tests.infra.prune import prune

MAX_TEMPLATE_BODY = 51_200  # the CLI's limit without --s3-bucket


def test_the_stack_deploys_with_the_aws_cli(
    template: dict[str, Any], moto_url: str, tmp_path: Path
) -> None:
    deployable, left_out = prune(template)
    body = json.dumps(deployable, separators=(",", ":"))
    assert len(body) <= MAX_TEMPLATE_BODY, "the pruned template no longer fits the CLI's limit"
    path = tmp_path / "petshore.min.json"
    path.write_text(body)
    environment = f"ci{os.getpid()}"
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    deployed = subprocess.run(
        [
            str(Path(sys.executable).parent / "aws"),
            "--endpoint-url",
            moto_url,
            "cloudformation",
            "deploy",
            "--template-file",
            str(path),
            "--stack-name",
            f"petshore-{environment}",
            "--capabilities",
            "CAPABILITY_IAM",
            "--parameter-overrides",
            f"Environment={environment}",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr

    stack = emulator_client(moto_url, "cloudformation").describe_stacks(
        StackName=f"petshore-{environment}"
    )["Stacks"][0]
    assert stack["StackStatus"] in ("CREATE_COMPLETE", "UPDATE_COMPLETE")
    physical = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in emulator_client(moto_url, "cloudformation").list_stack_resources(
            StackName=stack["StackName"]
        )["StackResourceSummaries"]
    }
    unconditional = {n for n, r in deployable["Resources"].items() if "Condition" not in r}
    assert unconditional <= set(physical)
    assert "NatGateway2" in physical, "one NAT gateway per AZ by default"
    assert {"CartsTable", "Database", "PublicLoadBalancer", "InternalLoadBalancer"} <= set(physical)
    assert not {"Database", "PublicLoadBalancer"} & left_out

    ec2 = emulator_client(moto_url, "ec2")
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [physical["Vpc"]]}])[
        "Subnets"
    ]
    assert len(subnets) == 4
    assert len({s["AvailabilityZone"] for s in subnets}) == 2

    elb = emulator_client(moto_url, "elbv2")
    balancers = {
        b["LoadBalancerArn"]: b
        for b in elb.describe_load_balancers(
            LoadBalancerArns=[physical["PublicLoadBalancer"], physical["InternalLoadBalancer"]]
        )["LoadBalancers"]
    }
    assert {b["Scheme"] for b in balancers.values()} == {"internet-facing", "internal"}
    listener = elb.describe_listeners(LoadBalancerArn=physical["PublicLoadBalancer"])["Listeners"][
        0
    ]
    rules = elb.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]
    routed = {
        tuple(sorted(c["Values"] if "Values" in c else c["PathPatternConfig"]["Values"]))
        for r in rules
        if not r["IsDefault"]
        for c in r["Conditions"]
    }
    assert routed == {tuple(sorted(path_patterns(s))) for s in SERVICES}

    groups = emulator_client(moto_url, "autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=[physical[f"{s.name.capitalize()}AutoScalingGroup"] for s in SERVICES]
    )["AutoScalingGroups"]
    assert len(groups) == len(SERVICES)
    private = {physical["PrivateSubnet1"], physical["PrivateSubnet2"]}
    for group in groups:
        assert set(group["VPCZoneIdentifier"].split(",")) == private
        assert group["HealthCheckType"] == "ELB"
        assert group["TargetGroupARNs"]

    table = emulator_client(moto_url, "dynamodb").describe_table(
        TableName=carts_table_name(environment)
    )["Table"]
    assert table["KeySchema"] == [{"AttributeName": CARTS_HASH_KEY, "KeyType": "HASH"}]

    database = emulator_client(moto_url, "rds").describe_db_instances(
        DBInstanceIdentifier=physical["Database"]
    )["DBInstances"][0]
    assert database["Engine"] == "postgres"
    assert database["MultiAZ"] is True
    assert database["PubliclyAccessible"] is False
    assert database["StorageEncrypted"] is True
