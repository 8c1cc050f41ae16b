"""Least-privilege IAM: small pure functions, each an exact list of actions on exact ARNs
taken from the resources themselves (GetAtt), never wildcards."""

from __future__ import annotations

from awacs import cloudformation, dynamodb, kms, logs, s3, secretsmanager, ses, sqs, ssm
from awacs.aws import Action as AwacsAction
from awacs.aws import Allow, Condition, PolicyDocument, Principal, Statement, StringEquals
from awacs.sts import AssumeRole
from troposphere import GetAtt, Join, Ref, Sub, Template, iam
from troposphere import dynamodb as ddb
from troposphere import kms as kmsres
from troposphere import logs as cwlogs
from troposphere import s3 as s3res
from troposphere import sqs as sqsres

from petshore.contract import PUBLISHED_KEY_PREFIXES, UPLOADS_KEY_PREFIX
from templates.parameters import Params


def assume_role(service: str) -> PolicyDocument:
    return PolicyDocument(
        Statement=[
            Statement(Effect=Allow, Action=[AssumeRole], Principal=Principal("Service", [service]))
        ]
    )


def read_artifact(params: Params) -> Statement:
    # A parameter names the artifact's bucket, so there is no resource to GetAtt.
    return Statement(
        Effect=Allow,
        Action=[s3.GetObject],
        Resource=[
            Sub(
                "arn:${AWS::Partition}:s3:::${Bucket}/${Key}",
                Bucket=Ref(params.artifact_bucket),
                Key=Ref(params.artifact_key),
            )
        ],
    )


def _objects(
    bucket: s3res.Bucket, prefixes: tuple[str, ...], actions: list[AwacsAction]
) -> Statement:
    return Statement(
        Effect=Allow,
        Action=actions,
        Resource=[Join("", [GetAtt(bucket, "Arn"), f"/{prefix}*"]) for prefix in prefixes],
    )


def _list_bucket(bucket: s3res.Bucket) -> Statement:
    # Without it S3 answers 403 rather than 404 for a key that is not there, and "is this
    # file there yet?" (an upload, a content-addressed model) could not be asked.
    return Statement(Effect=Allow, Action=[s3.ListBucket], Resource=[GetAtt(bucket, "Arn")])


def _keep_published(bucket: s3res.Bucket) -> Statement:
    """Published files under models/ and media/ (photos): written once under their content
    key, and retired or reinstated by a copy onto themselves that sets or drops the Glacier
    tag."""
    return _objects(
        bucket,
        PUBLISHED_KEY_PREFIXES,
        [s3.GetObject, s3.PutObject, s3.PutObjectTagging, s3.DeleteObjectTagging],
    )


def take_uploads(bucket: s3res.Bucket) -> list[Statement]:
    """The catalog: presigned PUTs and multipart uploads under uploads/ (signed with its own
    rights), whose size it checks, and the retiring and reinstating of published files."""
    return [
        _objects(
            bucket,
            (UPLOADS_KEY_PREFIX,),
            [s3.PutObject, s3.GetObject, s3.AbortMultipartUpload, s3.ListMultipartUploadParts],
        ),
        _keep_published(bucket),
        _list_bucket(bucket),
    ]


def publish_models(bucket: s3res.Bucket) -> list[Statement]:
    """The model worker: reads an upload, writes nothing but published files."""
    return [
        _objects(bucket, (UPLOADS_KEY_PREFIX,), [s3.GetObject]),
        _keep_published(bucket),
        _list_bucket(bucket),
    ]


def send_to(queue: sqsres.Queue) -> list[Statement]:
    # GetQueueAttributes: a sender's start-up check that its queue is there.
    return [
        Statement(
            Effect=Allow,
            Action=[sqs.SendMessage, sqs.GetQueueAttributes],
            Resource=[GetAtt(queue, "Arn")],
        )
    ]


def receive_from(queue: sqsres.Queue) -> list[Statement]:
    """Take messages, keep one hidden while it is being handled, delete it once done."""
    return [
        Statement(
            Effect=Allow,
            Action=[
                sqs.ReceiveMessage,
                sqs.DeleteMessage,
                sqs.ChangeMessageVisibility,
                sqs.GetQueueAttributes,
            ],
            Resource=[GetAtt(queue, "Arn")],
        )
    ]


def table_access(table: ddb.Table, index: str | None) -> list[Statement]:
    """Items by their key (a transaction is made of these), and a query of the table's index
    if it has one: no Scan, no table-level change."""
    statements = [
        Statement(
            Effect=Allow,
            Action=[
                dynamodb.GetItem,
                dynamodb.BatchGetItem,
                dynamodb.PutItem,
                dynamodb.UpdateItem,
                dynamodb.DeleteItem,
                dynamodb.ConditionCheckItem,
                dynamodb.DescribeTable,
            ],
            Resource=[GetAtt(table, "Arn")],
        )
    ]
    if index:
        statements.append(
            Statement(
                Effect=Allow,
                Action=[dynamodb.Query],
                Resource=[Join("/", [GetAtt(table, "Arn"), "index", index])],
            )
        )
    return statements


def send_mail_from(sender: object) -> list[Statement]:
    """SES's SendEmail, from the one sender address only (whichever identity, address or
    domain, SES verified it by). An empty sender matches no message: nothing may be sent."""
    return [
        Statement(
            Effect=Allow,
            Action=[ses.SendEmail],
            Resource=[Sub("arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/*")],
            Condition=Condition(StringEquals("ses:FromAddress", sender)),
        )
    ]


def read_secrets(*secret_arns: object) -> list[Statement]:
    return [
        Statement(
            Effect=Allow,
            Action=[secretsmanager.GetSecretValue, secretsmanager.DescribeSecret],
            Resource=list(secret_arns),
        )
    ]


def use_data_key(key: kmsres.Key) -> list[Statement]:
    """Decrypt secrets, table items and queue messages encrypted with the stack's key (and
    encrypt the messages an instance sends)."""
    return [
        Statement(
            Effect=Allow,
            Action=[kms.Decrypt, kms.GenerateDataKey, kms.DescribeKey],
            Resource=[GetAtt(key, "Arn")],
        )
    ]


def write_logs(group: cwlogs.LogGroup) -> list[Statement]:
    return [
        Statement(
            Effect=Allow,
            Action=[logs.CreateLogStream, logs.PutLogEvents, logs.DescribeLogStreams],
            Resource=[GetAtt(group, "Arn")],
        )
    ]


def rotate_secrets(secrets: list[object]) -> Statement:
    """What a Secrets Manager rotation function does to the secrets it rotates."""
    return Statement(
        Effect=Allow,
        Action=[
            secretsmanager.DescribeSecret,
            secretsmanager.GetSecretValue,
            secretsmanager.PutSecretValue,
            secretsmanager.UpdateSecretVersionStage,
        ],
        Resource=secrets,
    )


def add_instance_role(
    t: Template, title: str, statements: list[Statement]
) -> tuple[iam.Role, iam.InstanceProfile]:
    role = t.add_resource(
        iam.Role(
            f"{title}Role",
            AssumeRolePolicyDocument=assume_role("ec2.amazonaws.com"),
            # Operators reach instances through Session Manager, never SSH.
            ManagedPolicyArns=[
                Sub("arn:${AWS::Partition}:iam::aws:policy/AmazonSSMManagedInstanceCore")
            ],
            Policies=[
                iam.Policy(
                    PolicyName=f"{title}Access", PolicyDocument=PolicyDocument(Statement=statements)
                )
            ],
        )
    )
    profile = t.add_resource(iam.InstanceProfile(f"{title}InstanceProfile", Roles=[Ref(role)]))
    return role, profile


def add_service_role(
    t: Template, title: str, service_principal: str, managed_policy: str
) -> iam.Role:
    """A role an AWS service assumes with one AWS-managed policy (e.g. RDS monitoring)."""
    return t.add_resource(
        iam.Role(
            title,
            AssumeRolePolicyDocument=assume_role(service_principal),
            ManagedPolicyArns=[Sub(f"arn:${{AWS::Partition}}:iam::aws:policy/{managed_policy}")],
        )
    )


def signal_stack() -> list[Statement]:
    """An instance reports to CloudFormation that it serves (its group's CreationPolicy)."""
    return [
        Statement(
            Effect=Allow,
            Action=[cloudformation.SignalResource],
            Resource=[Ref("AWS::StackId")],
        )
    ]


def read_public_parameter(name: object) -> list[Statement]:
    """One of AWS's public SSM parameters (they live under /aws/service/, owned by no account)."""
    return [
        Statement(
            Effect=Allow,
            Action=[ssm.GetParameter],
            Resource=[Sub("arn:${AWS::Partition}:ssm:${AWS::Region}::parameter${Name}", Name=name)],
        )
    ]
