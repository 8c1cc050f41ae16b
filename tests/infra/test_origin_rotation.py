"""The origin secret's rotation function, run step by step as Secrets Manager runs it, against
the emulator's Secrets Manager, ALB and CloudFront: no request CloudFront sends is refused
on the way, and once done only the new value opens the ALB."""

from __future__ import annotations

import types
import uuid
from typing import Any

import pytest

from templates.origin import API_ORIGIN, ORIGIN_HEADER, ROTATION_CODE
from tests.helpers import emulator_client

STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")


def _header(value: str) -> dict[str, Any]:
    return {
        "Field": "http-header",
        "HttpHeaderConfig": {"HttpHeaderName": ORIGIN_HEADER, "Values": [value]},
    }


def _fixed(status: str) -> list[dict[str, Any]]:
    return [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": status}}]


def _public_listener(moto_url: str, first: str) -> tuple[Any, list[str]]:
    """An ALB whose rules are the stack's: a service's paths with the header, and the 404."""
    ec2, elb = emulator_client(moto_url, "ec2"), emulator_client(moto_url, "elbv2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.9.{i}.0/24", AvailabilityZone=f"us-east-1{z}")[
            "Subnet"
        ]["SubnetId"]
        for i, z in enumerate("ab")
    ]
    balancer = elb.create_load_balancer(Name=f"origin-{uuid.uuid4().hex[:8]}", Subnets=subnets)
    listener = elb.create_listener(
        LoadBalancerArn=balancer["LoadBalancers"][0]["LoadBalancerArn"],
        Protocol="HTTP",
        Port=80,
        DefaultActions=_fixed("403"),
    )["Listeners"][0]["ListenerArn"]
    paths = {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/cart", "/api/cart/*"]}}
    rules = [
        elb.create_rule(
            ListenerArn=listener, Priority=priority, Conditions=conditions, Actions=_fixed(status)
        )["Rules"][0]["RuleArn"]
        for priority, conditions, status in (
            (10, [paths, _header(first)], "200"),
            (50000, [_header(first)], "404"),
        )
    ]
    return elb, rules


def _distribution(moto_url: str, first: str) -> tuple[Any, str]:
    cloudfront = emulator_client(moto_url, "cloudfront")
    origin = {
        "Id": API_ORIGIN,
        "DomainName": "alb.example.com",
        "CustomHeaders": {
            "Quantity": 1,
            "Items": [{"HeaderName": ORIGIN_HEADER, "HeaderValue": first}],
        },
        "CustomOriginConfig": {
            "HTTPPort": 80,
            "HTTPSPort": 443,
            "OriginProtocolPolicy": "http-only",
        },
    }
    created = cloudfront.create_distribution(
        DistributionConfig={
            "CallerReference": uuid.uuid4().hex,
            "Comment": "",
            "Enabled": True,
            "Origins": {"Quantity": 1, "Items": [origin]},
            "DefaultCacheBehavior": {
                "TargetOriginId": API_ORIGIN,
                "ViewerProtocolPolicy": "https-only",
                "CachePolicyId": "4135ea2d-6df8-44a3-9df3-4b5a84be39ad",
            },
        }
    )
    return cloudfront, created["Distribution"]["Id"]


def test_a_rotation_never_refuses_cloudfront_and_ends_with_the_new_value_alone(
    moto_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    manager = emulator_client(moto_url, "secretsmanager")
    secret = manager.create_secret(Name=f"origin-{uuid.uuid4().hex}", SecretString="first")["ARN"]
    elb, rules = _public_listener(moto_url, "first")
    cloudfront, distribution = _distribution(moto_url, "first")
    for name, value in {
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "HEADER": ORIGIN_HEADER,
        "ORIGIN": API_ORIGIN,
        "DISTRIBUTION": distribution,
        "RULES": ",".join(rules),
        "WAIT": "60",
    }.items():
        monkeypatch.setenv(name, value)
    function = types.ModuleType("index")
    exec(ROTATION_CODE, function.__dict__)  # as Lambda loads the template's inline code

    def accepted() -> list[list[str]]:
        return [
            c["HttpHeaderConfig"]["Values"]
            for r in elb.describe_rules(RuleArns=rules)["Rules"]
            for c in r["Conditions"]
            if c["Field"] == "http-header"
        ]

    def sent() -> str:
        config = cloudfront.get_distribution_config(Id=distribution)["DistributionConfig"]
        (origin,) = config["Origins"]["Items"]
        (header,) = origin["CustomHeaders"]["Items"]
        assert header["HeaderName"] == ORIGIN_HEADER
        return str(header["HeaderValue"])

    version = str(uuid.uuid4())
    seen = []
    for step in STEPS:
        function.handler({"SecretId": secret, "ClientRequestToken": version, "Step": step}, None)
        # Whatever CloudFront sends at each moment, every rule takes it.
        assert all(sent() in values for values in accepted()), step
        seen.append((sent(), accepted()))
    new = manager.get_secret_value(SecretId=secret, VersionId=version)["SecretString"]
    assert new != "first" and len(new) >= 32
    assert seen[0] == ("first", [["first"], ["first"]])
    assert seen[1] == (new, [["first", new], ["first", new]])
    assert seen[-1] == (new, [[new], [new]])
    stages = manager.describe_secret(SecretId=secret)["VersionIdsToStages"]
    assert "AWSCURRENT" in stages[version]
    # A step Secrets Manager repeats after the rotation changes nothing.
    function.handler({"SecretId": secret, "ClientRequestToken": version, "Step": "setSecret"}, None)
    assert (sent(), accepted()) == (new, [[new], [new]])
