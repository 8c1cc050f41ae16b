"""The real `aws cloudformation deploy` CLI deploys the stack to moto's server over HTTP (less
what moto cannot create, see prune.py), and the pieces exist as the code expects them."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from petshore.contract import (
    CARTS,
    MODEL_JOB_ATTEMPTS,
    MODEL_JOB_VISIBILITY_SECONDS,
    SERVICES,
)
from templates.compute import path_patterns
from templates.function_zip import HANDLER, database_logins_zip
from templates.functions import INLINE_HANDLER
from templates.origin import ORIGIN_HEADER
from templates.parameters import WORKER_TITLE
from tests.helpers import emulator_client
from tests.infra.prune import STUB_ARN, prune


@pytest.mark.parametrize("footprint", ["production", "small"])
def test_the_stack_deploys_with_the_aws_cli(
    template: dict[str, Any], moto_url: str, tmp_path: Path, footprint: str
) -> None:
    deployable, left_out = prune(template)
    body = json.dumps(deployable, separators=(",", ":"))
    path = tmp_path / "petshore.min.json"
    path.write_text(body)
    environment = f"ci{os.getpid()}{footprint[0]}"
    # As the README deploys it: the template is over the 51,200 bytes the API takes inline.
    artifacts = f"petshore-artifacts-{environment}"
    emulator_client(moto_url, "s3").create_bucket(Bucket=artifacts)
    # Production as the README deploys a release: the database logins function's zip in the
    # artifact's bucket (the artifact itself, which only instances read, is not needed here);
    # the small footprint with every default, the placeholder artifact's.
    production = footprint == "production"
    logins = database_logins_zip()
    release = []
    if production:
        emulator_client(moto_url, "s3").put_object(
            Bucket=artifacts, Key=logins.key, Body=logins.data
        )
        release = [f"ArtifactBucket={artifacts}", "ArtifactKey=petshore/ci.tar.gz"]
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        # Every client of the CLI, S3's for the template upload too; named `localhost`, as
        # moto then reads the template's S3 URL path-style.
        "AWS_ENDPOINT_URL": moto_url.replace("127.0.0.1", "localhost"),
    }
    deployed = subprocess.run(
        [
            str(Path(sys.executable).parent / "aws"),
            "cloudformation",
            "deploy",
            "--template-file",
            str(path),
            "--s3-bucket",
            artifacts,
            "--stack-name",
            f"petshore-{environment}",
            "--capabilities",
            "CAPABILITY_IAM",
            "--parameter-overrides",
            f"Environment={environment}",
            f"Footprint={footprint}",
            *release,
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
    assert ("NatGateway2" in physical) == production, "a NAT gateway per AZ in production only"
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
    routed = set()
    for rule in (r for r in rules if not r["IsDefault"]):
        fields = {c["Field"]: c for c in rule["Conditions"]}
        # Every rule, the 404 for paths no service owns too, asks for CloudFront's header.
        header = fields["http-header"]["HttpHeaderConfig"]
        assert header["HttpHeaderName"] == ORIGIN_HEADER and len(header["Values"]) == 1
        if "path-pattern" in fields:
            assert rule["Actions"][0]["Type"] == "forward"
            routed.add(tuple(sorted(fields["path-pattern"]["PathPatternConfig"]["Values"])))
        else:
            assert rule["Actions"][0]["FixedResponseConfig"]["StatusCode"] == "404"
    assert routed == {tuple(sorted(path_patterns(s))) for s in SERVICES}
    (default,) = (r for r in rules if r["IsDefault"])
    assert default["Actions"][0]["FixedResponseConfig"]["StatusCode"] == "403"

    groups = emulator_client(moto_url, "autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=[physical[f"{s.name.capitalize()}AutoScalingGroup"] for s in SERVICES]
    )["AutoScalingGroups"]
    assert len(groups) == len(SERVICES)
    private = {physical["PrivateSubnet1"], physical["PrivateSubnet2"]}
    for group in groups:
        assert set(group["VPCZoneIdentifier"].split(",")) == private
        assert group["HealthCheckType"] == "ELB"
        assert group["TargetGroupARNs"]
        assert group["MinSize"] == (2 if production else 1)
    (worker,) = emulator_client(moto_url, "autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=[physical[f"{WORKER_TITLE}AutoScalingGroup"]]
    )["AutoScalingGroups"]
    assert set(worker["VPCZoneIdentifier"].split(",")) == private
    assert (worker["HealthCheckType"], worker["TargetGroupARNs"]) == ("EC2", [])
    assert worker["MinSize"] == 1

    sqs = emulator_client(moto_url, "sqs")
    jobs = sqs.get_queue_attributes(QueueUrl=physical["ModelJobsQueue"], AttributeNames=["All"])
    attributes = jobs["Attributes"]
    assert int(attributes["VisibilityTimeout"]) == MODEL_JOB_VISIBILITY_SECONDS
    redrive = json.loads(attributes["RedrivePolicy"])
    assert int(redrive["maxReceiveCount"]) == MODEL_JOB_ATTEMPTS
    dead = sqs.get_queue_attributes(
        QueueUrl=physical["ModelJobsDeadLetterQueue"], AttributeNames=["QueueArn"]
    )
    assert redrive["deadLetterTargetArn"] == dead["Attributes"]["QueueArn"]

    table = emulator_client(moto_url, "dynamodb").describe_table(TableName=CARTS.name(environment))[
        "Table"
    ]
    assert table["KeySchema"] == [{"AttributeName": CARTS.hash_key, "KeyType": "HASH"}]

    database = emulator_client(moto_url, "rds").describe_db_instances(
        DBInstanceIdentifier=physical["Database"]
    )["DBInstances"][0]
    assert database["Engine"] == "postgres"
    assert database["MultiAZ"] is production
    assert database["PubliclyAccessible"] is False
    assert database["StorageEncrypted"] is True

    # Only the database logins function, in the private subnets, may read the master login.
    iam = emulator_client(moto_url, "iam")
    master = STUB_ARN.format(name="Database")
    readers = set()
    for title, role in physical.items():
        if title.endswith("Role") and title in deployable["Resources"]:
            for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
                document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
                if master in json.dumps(document):
                    readers.add(title)
    assert readers == {"DatabaseLoginsRole"}
    function = emulator_client(moto_url, "lambda").get_function_configuration(
        FunctionName=physical["DatabaseLoginsFunction"]
    )
    assert set(function["VpcConfig"]["SubnetIds"]) == private
    if production:
        digest = base64.b64encode(hashlib.sha256(logins.data).digest()).decode()
        assert (function["Handler"], function["CodeSha256"]) == (HANDLER, digest)
    else:
        assert function["Handler"] == INLINE_HANDLER
