"""Make the template deployable to moto's CloudFormation (5.2), which cannot create every
type a real stack uses: drop the types it cannot create and whatever uses their values,
stand literal ARNs in for the secrets it cannot create, and step around its known bugs."""

from __future__ import annotations

import re
from typing import Any

# moto cannot create these; nothing that must exist in the test depends on their values.
UNSUPPORTED = frozenset(
    {
        "AWS::CloudFront::Distribution",
        "AWS::CloudFront::OriginAccessControl",
        "AWS::CloudFront::Function",
        "AWS::CloudFront::ResponseHeadersPolicy",
        "AWS::CloudFront::CachePolicy",
        "AWS::AutoScaling::ScalingPolicy",
        "AWS::S3::BucketPolicy",
        "AWS::SQS::QueuePolicy",
        "AWS::CloudWatch::Alarm",
        "AWS::CertificateManager::Certificate",
        "AWS::WAFv2::WebACL",
        "AWS::EC2::SecurityGroupEgress",
        "AWS::SecretsManager::RotationSchedule",
    }
)
# moto cannot create these either (a custom resource would run its Lambda in Docker), but
# roles, boot scripts and launch templates name them: a literal stands in for each Ref.
STUBBED = frozenset({"AWS::SecretsManager::Secret", "AWS::CloudFormation::CustomResource"})
STUB_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}"
# Attributes moto does not return, by name or by resource and name; a literal stands in (one
# of moto's own AMIs for the image the lookup would have found, an example CloudFront domain
# for the links in the orders service's emails).
STUBBED_ATTRIBUTES = {
    "MasterUserSecret.SecretArn": STUB_ARN,
    "ImageId": "ami-03cf127a",
    "Distribution.DomainName": "d111111abcdef8.cloudfront.net",
}


def _unsupported(resource: dict[str, Any]) -> bool:
    if resource["Type"] in UNSUPPORTED:
        return True
    # moto's SecurityGroupIngress knows addresses and groups, not managed prefix lists.
    return resource["Type"] == "AWS::EC2::SecurityGroupIngress" and (
        "SourcePrefixListId" in resource.get("Properties", {})
    )


def references(node: Any) -> set[str]:
    """Logical ids whose values a piece of template uses: Ref, GetAtt and Sub."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                found.add(value[0] if isinstance(value, list) else value.split(".")[0])
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) else value
                found |= {m.split(".")[0] for m in re.findall(r"\$\{([^}!]+)\}", text)}
            found |= references(value)
    elif isinstance(node, list):
        for item in node:
            found |= references(item)
    return found


def _stub(node: Any, stubbed: set[str]) -> Any:
    if isinstance(node, dict):
        if node.get("Ref") in stubbed:
            return STUB_ARN.format(name=node["Ref"])
        get_att = node.get("Fn::GetAtt")
        if isinstance(get_att, list):
            for name in (get_att[1], ".".join(get_att)):
                if name in STUBBED_ATTRIBUTES:
                    return STUBBED_ATTRIBUTES[name].format(name=get_att[0])
        return {k: _stub(v, stubbed) for k, v in node.items()}
    if isinstance(node, list):
        return [_stub(item, stubbed) for item in node]
    return node


def _without_dropped_dependencies(resource: dict[str, Any], removed: set[str]) -> dict[str, Any]:
    """DependsOn only orders creation: an edge to a dropped resource goes with it."""
    after = resource.get("DependsOn")
    if after is None:
        return resource
    kept = [d for d in ([after] if isinstance(after, str) else after) if d not in removed]
    resource = {k: v for k, v in resource.items() if k != "DependsOn"}
    return {**resource, "DependsOn": kept} if kept else resource


# moto 5.2 fails on these types' Tags: it reads KMS tags as TagKey/TagValue, and tags a flow
# log it did not create when the destination is a bucket prefix.
UNTAGGED = frozenset({"AWS::KMS::Key", "AWS::EC2::FlowLog"})


def _moto_bugs(resource: dict[str, Any]) -> dict[str, Any]:
    properties = dict(resource.get("Properties", {}))
    if resource["Type"] in UNTAGGED:
        properties.pop("Tags", None)
    if resource["Type"] == "AWS::RDS::DBInstance":
        # moto resolves a DBParameterGroup's Ref to its own object, not the group's name,
        # and fails on it: the group is still created, the instance keeps the default.
        properties.pop("DBParameterGroupName", None)
    destination = properties.get("LogDestination")
    if resource["Type"] == "AWS::EC2::FlowLog" and isinstance(destination, dict):
        # moto takes everything after the ARN's last colon, prefix included, as the bucket
        # name: point it at the bucket itself.
        _, variables = destination["Fn::Sub"]
        properties["LogDestination"] = next(iter(variables.values()))
    return {**resource, "Properties": properties}


def prune(template: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """The template moto can deploy, and the logical ids left out of it."""
    resources = template["Resources"]
    stubbed = {name for name, r in resources.items() if r["Type"] in STUBBED}
    resources = {n: _stub(r, stubbed) for n, r in resources.items() if n not in stubbed}
    removed = {name for name, r in resources.items() if _unsupported(r)}
    while True:
        dependent = {
            name for name, r in resources.items() if name not in removed and references(r) & removed
        }
        if not dependent:
            break
        removed |= dependent
    kept = {
        n: _moto_bugs(_without_dropped_dependencies(r, removed | stubbed))
        for n, r in resources.items()
        if n not in removed
    }
    outputs = {
        n: _stub(o, stubbed)
        for n, o in template.get("Outputs", {}).items()
        if not references(o) & removed
    }
    return {**template, "Resources": kept, "Outputs": outputs}, removed | stubbed
