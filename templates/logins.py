"""The services' database logins, made and rotated by the one function that holds the
database's master login (deploy/database_logins.py, zipped by templates/function_zip.py and
read from ArtifactBucket): a custom resource runs it at each deploy, before any service's
instance boots, and Secrets Manager runs it to rotate each service's secret. No instance role
may read the master secret.

A stack deployed with the placeholder artifact (every parameter's default) runs no service,
so it has no login to make and no zip to read: its function is a stand-in that tells
CloudFormation so."""

from __future__ import annotations

from awacs import kms, secretsmanager
from awacs.aws import Allow, Statement
from troposphere import GetAtt, If, Ref, Template, awslambda, cloudformation
from troposphere import kms as kmsres
from troposphere import secretsmanager as sm

from templates.data import Data
from templates.function_zip import HANDLER, database_logins_zip
from templates.functions import INLINE_HANDLER, python_function
from templates.iam import rotate_secrets
from templates.network import Network
from templates.parameters import HAS_ARTIFACT, Params
from templates.security import POSTGRES_PORT, SecurityGroups

# Inline code has AWS's cfnresponse module.
PLACEHOLDER_CODE = """import cfnresponse


def handler(event, context):
    if "Step" in event:
        raise RuntimeError("no artifact deployed: no database login to rotate")
    cfnresponse.send(event, context, cfnresponse.SUCCESS, {}, "database-logins")
"""
ROTATION_DAYS = 30
LOG_RETENTION_DAYS = 90
DATABASE_LOGINS = "DatabaseLogins"


def add_database_logins(
    t: Template,
    params: Params,
    network: Network,
    groups: SecurityGroups,
    data: Data,
    key: kmsres.Key,
) -> cloudformation.CustomResource:
    """The custom resource the services' groups wait for."""
    logins = [Ref(secret) for secret in data.service_secrets.values()]
    code = database_logins_zip()
    function = python_function(
        t,
        DATABASE_LOGINS,
        description="Makes the services' database logins and rotates their passwords: "
        "the only holder of the master login",
        code=If(
            HAS_ARTIFACT,
            awslambda.Code(S3Bucket=Ref(params.artifact_bucket), S3Key=code.key),
            awslambda.Code(ZipFile=PLACEHOLDER_CODE),
        ),
        handler=If(HAS_ARTIFACT, HANDLER, INLINE_HANDLER),
        log_name="database-logins",
        retention_days=LOG_RETENTION_DAYS,
        policy_name="make-and-rotate-the-services-logins",
        statements=[
            Statement(
                Effect=Allow,
                Action=[secretsmanager.GetSecretValue],
                Resource=[data.master_secret_arn],
            ),
            rotate_secrets(logins),
            Statement(
                Effect=Allow,
                Action=[kms.Decrypt, kms.GenerateDataKey],
                Resource=[GetAtt(key, "Arn")],
            ),
        ],
        key=key,
        timeout=120,
        memory=256,
        # Every secret's rotation and a deploy may run at once.
        concurrency=len(logins) + 1,
        findings=(
            (
                "CKV_AWS_116",
                "CloudFormation and Secrets Manager call it, and report a failure themselves; "
                "a dead-letter queue would hold nothing to act on.",
            ),
        ),
        environment={
            "HOST": GetAtt(data.database, "Endpoint.Address"),
            "PORT": str(POSTGRES_PORT),
            "MASTER_SECRET_ARN": data.master_secret_arn,
        },
        vpc=awslambda.VPCConfig(
            SubnetIds=[Ref(s) for s in network.private_subnets],
            SecurityGroupIds=[Ref(groups.database_logins)],
        ),
    )
    for service, secret in data.service_secrets.items():
        title = f"{service.capitalize()}DatabaseSecret"
        permission = t.add_resource(
            awslambda.Permission(
                f"{title}RotationPermission",
                FunctionName=GetAtt(function, "Arn"),
                Action="lambda:InvokeFunction",
                Principal="secretsmanager.amazonaws.com",
                SourceArn=Ref(secret),
            )
        )
        t.add_resource(
            sm.RotationSchedule(
                f"{title}Rotation",
                DependsOn=[permission.title, DATABASE_LOGINS],
                SecretId=Ref(secret),
                RotationLambdaARN=GetAtt(function, "Arn"),
                RotateImmediatelyOnUpdate=False,
                RotationRules=sm.RotationRules(ScheduleExpression=f"rate({ROTATION_DAYS} days)"),
            )
        )
    return t.add_resource(
        cloudformation.CustomResource(
            DATABASE_LOGINS,
            # The function reaches Secrets Manager through the NAT, and the database.
            DependsOn=[
                *(route.title for route in network.private_default_routes),
                *groups.database_logins_path,
            ],
            ServiceToken=GetAtt(function, "Arn"),
            # A new service's secret, a new database, or new code (the function in place of
            # the placeholder's stand-in too) runs it again.
            LoginSecretArns=logins,
            Database=GetAtt(data.database, "Endpoint.Address"),
            Code=If(HAS_ARTIFACT, code.key, "placeholder"),
        )
    )
