"""Values AWS publishes per region but CloudFormation cannot look up, read by one small custom
resource function instead of a table that would fail in every region it lacks:

- the instances' AMI. A parameter of type `AWS::SSM::Parameter::Value<...>` is resolved again
  at every stack update, so an unrelated update rolled the whole fleet onto whatever AMI AWS
  had published since. The lookup reads the public SSM parameter once when the stack is
  created, and again only when the operator changes `ImageRefresh` (or pins `ImageId`);
- CloudFront's origin-facing managed prefix list, whose ID differs in each region."""

from __future__ import annotations

from dataclasses import dataclass

from awacs import ec2
from awacs.aws import Allow, Statement
from troposphere import GetAtt, If, Ref, Template, awslambda, cloudformation, kms

from templates.functions import python_function
from templates.iam import read_public_parameter
from templates.parameters import PINNED_IMAGE, Params

LOG_RETENTION_DAYS = 30
CLOUDFRONT_PREFIX_LIST = "com.amazonaws.global.cloudfront.origin-facing"

# Inline code has AWS's cfnresponse module. On Update CloudFormation calls it only when a
# property changed (the parameter's name, or ImageRefresh).
LOOKUP_CODE = """import boto3
import cfnresponse


def look_up(properties):
    if "ParameterName" in properties:
        name = properties["ParameterName"]
        image = boto3.client("ssm").get_parameter(Name=name)["Parameter"]["Value"]
        return {"ImageId": image}, image
    lists = boto3.client("ec2").describe_managed_prefix_lists(
        Filters=[{"Name": "prefix-list-name", "Values": [properties["PrefixListName"]]}]
    )["PrefixLists"]
    if not lists:
        raise LookupError(f"no prefix list {properties['PrefixListName']} in this region")
    found = lists[0]["PrefixListId"]
    return {"PrefixListId": found}, found


def handler(event, context):
    try:
        if event["RequestType"] == "Delete":
            physical = event.get("PhysicalResourceId")
            cfnresponse.send(event, context, cfnresponse.SUCCESS, {}, physical)
            return
        data, physical = look_up(event["ResourceProperties"])
        cfnresponse.send(event, context, cfnresponse.SUCCESS, data, physical)
    except Exception as exc:
        cfnresponse.send(event, context, cfnresponse.FAILED, {}, reason=str(exc))
"""


@dataclass(frozen=True)
class Lookups:
    image: If  # the AMI of the launch templates: the pinned ImageId, or the one looked up
    cloudfront_prefix_list: GetAtt


def _describe_prefix_lists() -> Statement:
    # EC2's Describe actions take no resource-level permission: "*" is the only resource.
    return Statement(Effect=Allow, Action=[ec2.DescribeManagedPrefixLists], Resource=["*"])


def add_lookups(t: Template, params: Params, key: kms.Key) -> Lookups:
    function = python_function(
        t,
        "Lookup",
        description="Looks up the instances' AMI (at create and on ImageRefresh only) and "
        "CloudFront's origin-facing prefix list",
        code=awslambda.Code(ZipFile=LOOKUP_CODE),
        log_name="lookup",
        retention_days=LOG_RETENTION_DAYS,
        policy_name="read-the-image-parameter-and-prefix-lists",
        statements=[*read_public_parameter(Ref(params.image_parameter)), _describe_prefix_lists()],
        key=key,
        timeout=30,
        memory=128,
        # Once per stack operation at most.
        concurrency=1,
        findings=(
            ("CKV_AWS_116", "CloudFormation alone calls it, and reports a failure itself."),
            (
                "CKV_AWS_117",
                "It reads a public SSM parameter and EC2's prefix lists: nothing in the VPC to "
                "reach.",
            ),
        ),
    )
    image = t.add_resource(
        cloudformation.CustomResource(
            "ImageLookup",
            ServiceToken=GetAtt(function, "Arn"),
            ParameterName=Ref(params.image_parameter),
            Refresh=Ref(params.image_refresh),
        )
    )
    prefix_list = t.add_resource(
        cloudformation.CustomResource(
            "CloudFrontPrefixListLookup",
            ServiceToken=GetAtt(function, "Arn"),
            PrefixListName=CLOUDFRONT_PREFIX_LIST,
        )
    )
    return Lookups(
        image=If(PINNED_IMAGE, Ref(params.image_id), GetAtt(image, "ImageId")),
        cloudfront_prefix_list=GetAtt(prefix_list, "PrefixListId"),
    )
