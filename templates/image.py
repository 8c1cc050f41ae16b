"""The instances' AMI, and when it changes. A parameter of type
`AWS::SSM::Parameter::Value<...>` is resolved again at every stack update, so an unrelated
update rolled the whole fleet onto whatever AMI AWS had published since. Here the public SSM
parameter is read by a small custom resource instead: once when the stack is created, and
again only when the operator changes `ImageRefresh` (or pins `ImageId`)."""

from __future__ import annotations

from awacs.aws import PolicyDocument
from troposphere import GetAtt, If, Ref, Template, awslambda, cloudformation, iam, kms
from troposphere import logs as cwlogs

from templates.findings import accepted
from templates.iam import assume_role, read_public_parameter, write_logs
from templates.parameters import PINNED_IMAGE, Params

LOG_RETENTION_DAYS = 30

# Inline code has AWS's cfnresponse module. On Update CloudFormation calls it only when a
# property changed (the parameter's name, or ImageRefresh).
LOOKUP_CODE = """import boto3
import cfnresponse


def handler(event, context):
    try:
        if event["RequestType"] == "Delete":
            physical = event.get("PhysicalResourceId")
            cfnresponse.send(event, context, cfnresponse.SUCCESS, {}, physical)
            return
        name = event["ResourceProperties"]["ParameterName"]
        image = boto3.client("ssm").get_parameter(Name=name)["Parameter"]["Value"]
        cfnresponse.send(event, context, cfnresponse.SUCCESS, {"ImageId": image}, image)
    except Exception as exc:
        cfnresponse.send(event, context, cfnresponse.FAILED, {}, reason=str(exc))
"""


def add_image(t: Template, params: Params, key: kms.Key) -> If:
    """The AMI for the launch templates: the pinned ImageId, or the one looked up."""
    log_group = t.add_resource(
        cwlogs.LogGroup(
            "ImageLookupLogGroup",
            RetentionInDays=LOG_RETENTION_DAYS,
            KmsKeyId=GetAtt(key, "Arn"),
        )
    )
    role = t.add_resource(
        iam.Role(
            "ImageLookupRole",
            AssumeRolePolicyDocument=assume_role("lambda.amazonaws.com"),
            Policies=[
                iam.Policy(
                    PolicyName="read-the-image-parameter",
                    PolicyDocument=PolicyDocument(
                        Statement=[
                            *read_public_parameter(Ref(params.image_parameter)),
                            *write_logs(log_group),
                        ]
                    ),
                )
            ],
        )
    )
    function = t.add_resource(
        awslambda.Function(
            "ImageLookupFunction",
            Metadata=accepted(
                (
                    "CKV_AWS_116",
                    "CloudFormation alone calls it, and reports a failure itself.",
                ),
                ("CKV_AWS_117", "It reads a public SSM parameter: nothing in the VPC to reach."),
            ),
            # Once per stack operation at most.
            ReservedConcurrentExecutions=1,
            Description="Looks up the instances' AMI at create and on ImageRefresh only",
            Runtime="python3.12",
            Handler="index.handler",
            Role=GetAtt(role, "Arn"),
            Timeout=30,
            MemorySize=128,
            Code=awslambda.Code(ZipFile=LOOKUP_CODE),
            LoggingConfig=awslambda.LoggingConfig(LogGroup=Ref(log_group)),
        )
    )
    lookup = t.add_resource(
        cloudformation.CustomResource(
            "ImageLookup",
            ServiceToken=GetAtt(function, "Arn"),
            ParameterName=Ref(params.image_parameter),
            Refresh=Ref(params.image_refresh),
        )
    )
    return If(PINNED_IMAGE, Ref(params.image_id), GetAtt(lookup, "ImageId"))
