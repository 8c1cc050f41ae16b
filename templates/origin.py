"""Only this stack's distribution reaches the public ALB. CloudFront's origin-facing prefix
list admits every CloudFront distribution, anyone's, which would walk around this stack's
web ACL: so the distribution adds a secret header to each request it sends to the ALB, the
listener's rules forward only requests that carry it, and its default action refuses the
rest. The secret lives in Secrets Manager and rotates on a schedule: the rotation function
has the rules accept the old and the new value, moves CloudFront to the new one, waits until
every edge sends it, then drops the old one; no request is refused on the way."""

from __future__ import annotations

from awacs import cloudfront, elasticloadbalancing, kms
from awacs.aws import Allow, Statement
from troposphere import GetAtt, Join, Ref, Sub, Template, awslambda
from troposphere import cloudfront as cf
from troposphere import elasticloadbalancingv2 as elb
from troposphere import kms as kmsres
from troposphere import secretsmanager as sm

from templates.functions import python_function
from templates.iam import rotate_secrets

ORIGIN_HEADER = "X-Petshore-Origin"
# CloudFront's origin of the ALB (the Id of its entry in the distribution's Origins).
API_ORIGIN = "api"
ROTATION_DAYS = 30
SECRET_LENGTH = 64  # an ALB header condition takes values of up to 128 characters
LOG_RETENTION_DAYS = 90
# The longest a CloudFront configuration change takes to reach every edge, and then some;
# within Lambda's 15 minutes.
DEPLOYED_WAIT_SECONDS = 840

ROTATION_CODE = """import os
import secrets

import boto3

HEADER = os.environ["HEADER"]
ORIGIN = os.environ["ORIGIN"]
DISTRIBUTION = os.environ["DISTRIBUTION"]
RULES = os.environ["RULES"].split(",")
WAIT = int(os.environ["WAIT"])
manager = boto3.client("secretsmanager")
elb = boto3.client("elbv2")
cloudfront = boto3.client("cloudfront")


def value(arn, stage, version=None):
    extra = {"VersionId": version} if version else {}
    found = manager.get_secret_value(SecretId=arn, VersionStage=stage, **extra)
    return found["SecretString"]


def accept(values):
    for rule in elb.describe_rules(RuleArns=RULES)["Rules"]:
        conditions = []
        for condition in rule["Conditions"]:
            field = condition["Field"]
            if field == "http-header":
                header = {"HttpHeaderName": HEADER, "Values": values}
                conditions.append({"Field": field, "HttpHeaderConfig": header})
            else:
                patterns = condition["PathPatternConfig"]
                conditions.append({"Field": field, "PathPatternConfig": patterns})
        elb.modify_rule(RuleArn=rule["RuleArn"], Conditions=conditions)


def send(secret):
    found = cloudfront.get_distribution_config(Id=DISTRIBUTION)
    config = found["DistributionConfig"]
    for origin in config["Origins"]["Items"]:
        if origin["Id"] == ORIGIN:
            for header in origin["CustomHeaders"]["Items"]:
                if header["HeaderName"] == HEADER:
                    header["HeaderValue"] = secret
    cloudfront.update_distribution(
        Id=DISTRIBUTION, IfMatch=found["ETag"], DistributionConfig=config
    )


def handler(event, context):
    arn, version, step = event["SecretId"], event["ClientRequestToken"], event["Step"]
    stages = manager.describe_secret(SecretId=arn)["VersionIdsToStages"]
    if "AWSCURRENT" in stages.get(version, []):
        return
    if step == "createSecret" and "AWSPENDING" not in stages.get(version, []):
        manager.put_secret_value(
            SecretId=arn,
            ClientRequestToken=version,
            SecretString=secrets.token_hex(32),
            VersionStages=["AWSPENDING"],
        )
    elif step == "setSecret":
        accept([value(arn, "AWSCURRENT"), value(arn, "AWSPENDING", version)])
        send(value(arn, "AWSPENDING", version))
    elif step == "testSecret":
        waiter = cloudfront.get_waiter("distribution_deployed")
        waiter.wait(Id=DISTRIBUTION, WaiterConfig={"Delay": 20, "MaxAttempts": WAIT // 20})
    elif step == "finishSecret":
        accept([value(arn, "AWSPENDING", version)])
        current = next(v for v, s in stages.items() if "AWSCURRENT" in s)
        manager.update_secret_version_stage(
            SecretId=arn,
            VersionStage="AWSCURRENT",
            MoveToVersionId=version,
            RemoveFromVersionId=current,
        )
"""


def add_origin_secret(t: Template, key: kmsres.Key) -> sm.Secret:
    return t.add_resource(
        sm.Secret(
            "OriginSecret",
            Description="Header value by which the public ALB knows this stack's CloudFront",
            KmsKeyId=Ref(key),
            GenerateSecretString=sm.GenerateSecretString(
                PasswordLength=SECRET_LENGTH, ExcludePunctuation=True
            ),
        )
    )


def _current(secret: sm.Secret) -> Sub:
    # Resolved by CloudFormation when it creates or updates the resource that names it: the
    # value Secrets Manager holds as current then (the rotation keeps both sides in step
    # between updates).
    return Sub("{{resolve:secretsmanager:${Secret}:SecretString}}", Secret=Ref(secret))


def from_cloudfront(secret: sm.Secret) -> elb.Condition:
    """The listener rule condition: the request carries the distribution's secret header."""
    return elb.Condition(
        Field="http-header",
        HttpHeaderConfig=elb.HttpHeaderConfig(
            HttpHeaderName=ORIGIN_HEADER, Values=[_current(secret)]
        ),
    )


def origin_header(secret: sm.Secret) -> cf.OriginCustomHeader:
    """What CloudFront adds to every request it sends to the ALB (replacing any a viewer
    sent under that name)."""
    return cf.OriginCustomHeader(HeaderName=ORIGIN_HEADER, HeaderValue=_current(secret))


def add_origin_rotation(
    t: Template,
    secret: sm.Secret,
    rules: list[elb.ListenerRule],
    distribution: cf.Distribution,
    key: kmsres.Key,
) -> None:
    """The rotation function, which alone may change the rules' header values and the
    distribution's, and its schedule."""
    distribution_arn = Sub(
        "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${Id}",
        Id=Ref(distribution),
    )
    function = python_function(
        t,
        "OriginRotation",
        description="Rotates the header by which the public ALB knows this stack's CloudFront",
        code=awslambda.Code(ZipFile=ROTATION_CODE),
        log_name="origin-rotation",
        retention_days=LOG_RETENTION_DAYS,
        policy_name="rotate-the-origin-secret",
        statements=[
            rotate_secrets([Ref(secret)]),
            Statement(
                Effect=Allow,
                Action=[kms.Decrypt, kms.GenerateDataKey],
                Resource=[GetAtt(key, "Arn")],
            ),
            # ELB's Describe actions take no resource-level permission.
            Statement(
                Effect=Allow,
                Action=[elasticloadbalancing.DescribeRules],
                Resource=["*"],
            ),
            Statement(
                Effect=Allow,
                Action=[elasticloadbalancing.ModifyRule],
                Resource=[Ref(rule) for rule in rules],
            ),
            Statement(
                Effect=Allow,
                Action=[
                    cloudfront.GetDistribution,
                    cloudfront.GetDistributionConfig,
                    cloudfront.UpdateDistribution,
                ],
                Resource=[distribution_arn],
            ),
        ],
        key=key,
        timeout=900,
        memory=128,
        concurrency=1,
        findings=(
            (
                "CKV_AWS_116",
                "Secrets Manager calls it, shows a failed rotation on the secret and tries "
                "again; a dead-letter queue would hold nothing to act on.",
            ),
            (
                "CKV_AWS_117",
                "It calls Secrets Manager, ELB and CloudFront APIs only: nothing in the VPC to "
                "reach.",
            ),
        ),
        environment={
            "HEADER": ORIGIN_HEADER,
            "ORIGIN": API_ORIGIN,
            "DISTRIBUTION": Ref(distribution),
            "RULES": Join(",", [Ref(rule) for rule in rules]),
            "WAIT": str(DEPLOYED_WAIT_SECONDS),
        },
    )
    permission = t.add_resource(
        awslambda.Permission(
            "OriginRotationPermission",
            FunctionName=GetAtt(function, "Arn"),
            Action="lambda:InvokeFunction",
            Principal="secretsmanager.amazonaws.com",
            SourceArn=Ref(secret),
        )
    )
    t.add_resource(
        sm.RotationSchedule(
            "OriginSecretRotation",
            DependsOn=[permission.title],
            SecretId=Ref(secret),
            RotationLambdaARN=GetAtt(function, "Arn"),
            # The first rotation waits for the schedule: during a stack operation CloudFront
            # may still be deploying the value just created.
            RotateImmediatelyOnUpdate=False,
            RotationRules=sm.RotationRules(ScheduleExpression=f"rate({ROTATION_DAYS} days)"),
        )
    )
