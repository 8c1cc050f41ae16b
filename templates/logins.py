"""The services' database logins, made and rotated by the one function that holds the
database's master login (deploy/database_logins.py, inlined): a custom resource runs it
at each deploy, before any service's instance boots, and Secrets Manager runs it to rotate
each service's secret. No instance role may read the master secret."""

from __future__ import annotations

from pathlib import Path

from awacs import kms, secretsmanager
from awacs.aws import Allow, PolicyDocument, Statement
from troposphere import GetAtt, Ref, Sub, Template, awslambda, cloudformation, iam
from troposphere import kms as kmsres
from troposphere import logs as cwlogs
from troposphere import secretsmanager as sm

from templates.data import Data
from templates.findings import accepted
from templates.iam import assume_role, write_logs
from templates.network import Network
from templates.security import POSTGRES_PORT, SecurityGroups, stack_log_group

CODE = Path(__file__).resolve().parent.parent / "deploy" / "database_logins.py"
ROTATION_DAYS = 30
LOG_RETENTION_DAYS = 90
DATABASE_LOGINS = "DatabaseLogins"


def add_database_logins(
    t: Template, network: Network, groups: SecurityGroups, data: Data, key: kmsres.Key
) -> cloudformation.CustomResource:
    """The custom resource the services' groups wait for."""
    logins = [Ref(secret) for secret in data.service_secrets.values()]
    log_group = t.add_resource(
        cwlogs.LogGroup(
            f"{DATABASE_LOGINS}LogGroup",
            LogGroupName=stack_log_group("database-logins"),
            RetentionInDays=LOG_RETENTION_DAYS,
            KmsKeyId=GetAtt(key, "Arn"),
        )
    )
    role = t.add_resource(
        iam.Role(
            f"{DATABASE_LOGINS}Role",
            AssumeRolePolicyDocument=assume_role("lambda.amazonaws.com"),
            # Its network interfaces in the private subnets.
            ManagedPolicyArns=[
                Sub(
                    "arn:${AWS::Partition}:iam::aws:policy/service-role/"
                    "AWSLambdaVPCAccessExecutionRole"
                )
            ],
            Policies=[
                iam.Policy(
                    PolicyName="make-and-rotate-the-services-logins",
                    PolicyDocument=PolicyDocument(
                        Statement=[
                            Statement(
                                Effect=Allow,
                                Action=[secretsmanager.GetSecretValue],
                                Resource=[data.master_secret_arn],
                            ),
                            Statement(
                                Effect=Allow,
                                Action=[
                                    secretsmanager.DescribeSecret,
                                    secretsmanager.GetSecretValue,
                                    secretsmanager.PutSecretValue,
                                    secretsmanager.UpdateSecretVersionStage,
                                ],
                                Resource=logins,
                            ),
                            Statement(
                                Effect=Allow,
                                Action=[kms.Decrypt, kms.GenerateDataKey],
                                Resource=[GetAtt(key, "Arn")],
                            ),
                            *write_logs(log_group),
                        ]
                    ),
                )
            ],
        )
    )
    function = t.add_resource(
        awslambda.Function(
            f"{DATABASE_LOGINS}Function",
            Metadata=accepted(
                (
                    "CKV_AWS_116",
                    "CloudFormation and Secrets Manager call it, and report a failure "
                    "themselves; a dead-letter queue would hold nothing to act on.",
                ),
            ),
            # Every secret's rotation and a deploy may run at once.
            ReservedConcurrentExecutions=len(logins) + 1,
            Description="Makes the services' database logins and rotates their passwords: "
            "the only holder of the master login",
            Runtime="python3.12",
            Handler="index.handler",
            Role=GetAtt(role, "Arn"),
            Timeout=120,
            MemorySize=256,
            KmsKeyArn=GetAtt(key, "Arn"),
            VpcConfig=awslambda.VPCConfig(
                SubnetIds=[Ref(s) for s in network.private_subnets],
                SecurityGroupIds=[Ref(groups.database_logins)],
            ),
            Environment=awslambda.Environment(
                Variables={
                    "HOST": GetAtt(data.database, "Endpoint.Address"),
                    "PORT": str(POSTGRES_PORT),
                    "MASTER_SECRET_ARN": data.master_secret_arn,
                }
            ),
            Code=awslambda.Code(ZipFile=CODE.read_text()),
            LoggingConfig=awslambda.LoggingConfig(LogGroup=Ref(log_group)),
        )
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
            # A new service's secret, or a new database, runs it again.
            LoginSecretArns=logins,
            Database=GetAtt(data.database, "Endpoint.Address"),
        )
    )
