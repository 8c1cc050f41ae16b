"""The stack's own Lambda functions (the lookups, the origin secret's rotation, the database
logins): each a Python function with a role of its own that may do its one job and write its
own log group, encrypted with the data key and kept for a set number of days."""

from __future__ import annotations

from awacs.aws import PolicyDocument, Statement
from troposphere import GetAtt, If, Ref, Sub, Template, awslambda, iam, kms
from troposphere import logs as cwlogs

from templates.dependencies import FUNCTION_PYTHON
from templates.findings import accepted
from templates.iam import assume_role, write_logs
from templates.security import stack_log_group

RUNTIME = f"python{FUNCTION_PYTHON}"
# Where Lambda puts inline code (ZipFile): index.py.
INLINE_HANDLER = "index.handler"
# What a function in the VPC needs for its network interfaces there.
VPC_ACCESS = Sub(
    "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
)


def _log_group(
    t: Template, title: str, name: str, retention_days: int, key: kms.Key
) -> cwlogs.LogGroup:
    return t.add_resource(
        cwlogs.LogGroup(
            f"{title}LogGroup",
            LogGroupName=stack_log_group(name),
            RetentionInDays=retention_days,
            KmsKeyId=GetAtt(key, "Arn"),
        )
    )


def _role(
    t: Template,
    title: str,
    policy_name: str,
    statements: list[Statement],
    log_group: cwlogs.LogGroup,
    in_vpc: bool,
) -> iam.Role:
    extra = {"ManagedPolicyArns": [VPC_ACCESS]} if in_vpc else {}
    return t.add_resource(
        iam.Role(
            f"{title}Role",
            AssumeRolePolicyDocument=assume_role("lambda.amazonaws.com"),
            Policies=[
                iam.Policy(
                    PolicyName=policy_name,
                    PolicyDocument=PolicyDocument(Statement=[*statements, *write_logs(log_group)]),
                )
            ],
            **extra,
        )
    )


def python_function(
    t: Template,
    title: str,
    *,
    description: str,
    code: awslambda.Code | If,
    log_name: str,
    retention_days: int,
    policy_name: str,
    statements: list[Statement],
    key: kms.Key,
    timeout: int,
    memory: int,
    concurrency: int,
    findings: tuple[tuple[str, str], ...],
    handler: str | If = INLINE_HANDLER,
    environment: dict[str, object] | None = None,
    vpc: awslambda.VPCConfig | None = None,
) -> awslambda.Function:
    """`<title>Function`, its `<title>Role` (`statements` and its own logs) and its
    `<title>LogGroup` (the stack's `log_name`); its environment, if it has one, encrypted with
    `key`; `concurrency` reserved, which is also the most it may run at once."""
    log_group = _log_group(t, title, log_name, retention_days, key)
    role = _role(t, title, policy_name, statements, log_group, vpc is not None)
    extra: dict[str, object] = {}
    if environment is not None:
        extra["Environment"] = awslambda.Environment(Variables=environment)
        extra["KmsKeyArn"] = GetAtt(key, "Arn")
    if vpc is not None:
        extra["VpcConfig"] = vpc
    return t.add_resource(
        awslambda.Function(
            f"{title}Function",
            Metadata=accepted(*findings),
            ReservedConcurrentExecutions=concurrency,
            Description=description,
            Runtime=RUNTIME,
            Handler=handler,
            Role=GetAtt(role, "Arn"),
            Timeout=timeout,
            MemorySize=memory,
            Code=code,
            LoggingConfig=awslambda.LoggingConfig(LogGroup=Ref(log_group)),
            **extra,
        )
    )
