"""Security groups, as a chain: CloudFront → public ALB → services; a service that calls
others → internal ALB → the services called; each service that owns a database, and the
function that makes their logins → database.
The model worker takes no traffic at all. Nothing else takes traffic, and no rule admits an
address range."""

from __future__ import annotations

from dataclasses import dataclass

from awacs.aws import Action as AwacsAction
from awacs.aws import (
    Allow,
    ArnLike,
    Condition,
    PolicyDocument,
    Principal,
    Statement,
    StringEquals,
)
from troposphere import GetAtt, If, Ref, Sub, Template, ec2, kms

from petshore.contract import PROJECT, SERVICES, Service
from templates.parameters import HAS_CERTIFICATE, WORKER_TITLE

POSTGRES_PORT = 5432
LOG_GROUPS = "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group"
# Stack names hold no "/": the groups under this prefix are this stack's and no other's (a
# `<stack>-*` pattern would also name those of a stack called `<stack>-staging`).
STACK_LOG_PREFIX = f"/{PROJECT}/${{AWS::StackName}}/"
# RDS names its exported logs' groups after the instance, so the instance is named.
DATABASE_IDENTIFIER = "${AWS::StackName}-database"
# WAF logs only to a group whose name starts with aws-waf-logs-.
WAF_LOG_GROUP = "aws-waf-logs-${AWS::StackName}"
HTTPS = 443
HTTP = 80


@dataclass(frozen=True)
class SecurityGroups:
    public_alb: ec2.SecurityGroup
    internal_alb: ec2.SecurityGroup
    database: ec2.SecurityGroup
    services: dict[str, ec2.SecurityGroup]
    worker: ec2.SecurityGroup
    database_logins: ec2.SecurityGroup  # the function that alone holds the master login
    database_logins_path: list[str]  # its rules to the database


def stack_log_group(name: str) -> Sub:
    """The name of one of the stack's own log groups, which the data key's policy allows."""
    return Sub(STACK_LOG_PREFIX + name)


def called_services() -> list[Service]:
    """Services another service calls: they sit behind the internal ALB too."""
    names = {name for s in SERVICES for name in s.calls}
    return [s for s in SERVICES if s.name in names]


def _group(t: Template, title: str, description: str, vpc: ec2.VPC) -> ec2.SecurityGroup:
    # An explicit egress rule replaces the default allow-all; the real ones are added below.
    return t.add_resource(
        ec2.SecurityGroup(
            title,
            GroupDescription=description,
            VpcId=Ref(vpc),
            SecurityGroupEgress=[
                ec2.SecurityGroupRule(
                    IpProtocol="icmp",
                    FromPort=-1,
                    ToPort=-1,
                    CidrIp="127.0.0.1/32",
                    Description="none",
                )
            ],
        )
    )


def _instances_group(
    t: Template, title: str, description: str, vpc: ec2.VPC, reason: str
) -> ec2.SecurityGroup:
    """Instances' group: HTTPS out through the NAT (packages come from the artifact)."""
    group = _group(t, title, description, vpc)
    t.add_resource(
        ec2.SecurityGroupEgress(
            f"{title}HttpsOut",
            GroupId=Ref(group),
            CidrIp="0.0.0.0/0",
            IpProtocol="tcp",
            FromPort=HTTPS,
            ToPort=HTTPS,
            Description=reason,
        )
    )
    return group


def _allow(
    t: Template,
    title: str,
    source: ec2.SecurityGroup,
    target: ec2.SecurityGroup,
    port: int,
) -> list[str]:
    """The titles of the two rules, for what must wait until the path is open."""
    ingress = t.add_resource(
        ec2.SecurityGroupIngress(
            f"{title}Ingress",
            GroupId=Ref(target),
            SourceSecurityGroupId=Ref(source),
            IpProtocol="tcp",
            FromPort=port,
            ToPort=port,
            Description=f"from {source.title} on {port}",
        )
    )
    egress = t.add_resource(
        ec2.SecurityGroupEgress(
            f"{title}Egress",
            GroupId=Ref(source),
            DestinationSecurityGroupId=Ref(target),
            IpProtocol="tcp",
            FromPort=port,
            ToPort=port,
            Description=f"to {target.title} on {port}",
        )
    )
    return [ingress.title, egress.title]


def add_security(t: Template, vpc: ec2.VPC, cloudfront_prefix_list: GetAtt) -> SecurityGroups:
    public_alb = _group(t, "PublicLoadBalancerSecurityGroup", "Public ALB: CloudFront only", vpc)
    # The managed prefix list counts as ~55 rules against the 60-rule quota: one port only.
    listener_port = If(HAS_CERTIFICATE, HTTPS, HTTP)
    t.add_resource(
        ec2.SecurityGroupIngress(
            "PublicLoadBalancerFromCloudFront",
            GroupId=Ref(public_alb),
            SourcePrefixListId=cloudfront_prefix_list,
            IpProtocol="tcp",
            FromPort=listener_port,
            ToPort=listener_port,
            Description="CloudFront origin-facing addresses",
        )
    )
    internal_alb = _group(
        t, "InternalLoadBalancerSecurityGroup", "Internal ALB: service-to-service calls", vpc
    )
    database = _group(
        t, "DatabaseSecurityGroup", "PostgreSQL: the services that own a database", vpc
    )
    services: dict[str, ec2.SecurityGroup] = {}
    for service in SERVICES:
        # AWS APIs without VPC endpoints (Secrets Manager, SES, CloudWatch).
        group = _instances_group(
            t,
            f"{service.name.capitalize()}SecurityGroup",
            f"{service.name} instances",
            vpc,
            "HTTPS to AWS APIs and package repositories",
        )
        services[service.name] = group
        _allow(t, f"PublicAlbTo{group.title}", public_alb, group, service.port)
        if service.database:
            _allow(t, f"{group.title}ToDatabase", group, database, POSTGRES_PORT)
    for service in (s for s in SERVICES if s.calls):
        _allow(
            t,
            f"{services[service.name].title}ToInternalAlb",
            services[service.name],
            internal_alb,
            HTTP,
        )
    for callee in called_services():
        _allow(
            t,
            f"InternalAlbTo{services[callee.name].title}",
            internal_alb,
            services[callee.name],
            callee.port,
        )
    # SQS and the other AWS APIs without VPC endpoints; its browser is in the artifact.
    worker = _instances_group(
        t,
        f"{WORKER_TITLE}SecurityGroup",
        "model worker instances: no traffic in",
        vpc,
        "HTTPS to AWS APIs and package repositories",
    )
    # Secrets Manager through the NAT, and the database.
    logins = _instances_group(
        t,
        "DatabaseLoginsSecurityGroup",
        "the function that makes the service database logins",
        vpc,
        "HTTPS to Secrets Manager",
    )
    path = _allow(t, f"{logins.title}ToDatabase", logins, database, POSTGRES_PORT)
    return SecurityGroups(public_alb, internal_alb, database, services, worker, logins, path)


def add_data_key(t: Template) -> kms.Key:
    """One customer-managed key for the data at rest: secrets, the DynamoDB tables (carts,
    sessions), the database,
    the model worker's queues and the instances' logs. The account administers it through
    IAM; CloudWatch Logs may use it for this stack's log groups only: those it names under
    STACK_LOG_PREFIX, the database's exported logs' and the web ACL's.
    Retained with the stack, like the DynamoDB tables and the final database snapshot it
    encrypts: deleting it would make them unreadable."""
    return t.add_resource(
        kms.Key(
            "DataKey",
            Description="Pet Shore 3D data at rest",
            EnableKeyRotation=True,
            DeletionPolicy="Retain",
            UpdateReplacePolicy="Retain",
            KeyPolicy=PolicyDocument(
                Statement=[
                    Statement(
                        Sid="AccountAdministersThroughIam",
                        Effect=Allow,
                        Principal=Principal(
                            "AWS", Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")
                        ),
                        Action=[AwacsAction("kms", "*")],
                        Resource=["*"],
                    ),
                    # The alarm topic is encrypted with this key: CloudWatch must be able to
                    # use it to publish, or no alarm ever reaches anyone.
                    Statement(
                        Sid="CloudWatchPublishesAlarms",
                        Effect=Allow,
                        Principal=Principal("Service", "cloudwatch.amazonaws.com"),
                        Action=[
                            AwacsAction("kms", "Decrypt"),
                            AwacsAction("kms", "GenerateDataKey*"),
                        ],
                        Resource=["*"],
                        Condition=Condition(
                            StringEquals("aws:SourceAccount", Ref("AWS::AccountId"))
                        ),
                    ),
                    Statement(
                        Sid="LogsEncryptThisStacksGroups",
                        Effect=Allow,
                        Principal=Principal("Service", Sub("logs.${AWS::Region}.amazonaws.com")),
                        Action=[
                            AwacsAction("kms", name)
                            for name in (
                                "Encrypt",
                                "Decrypt",
                                "ReEncrypt*",
                                "GenerateDataKey*",
                                "Describe*",
                            )
                        ],
                        Resource=["*"],
                        Condition=Condition(
                            ArnLike(
                                "kms:EncryptionContext:aws:logs:arn",
                                [
                                    Sub(f"{LOG_GROUPS}:{STACK_LOG_PREFIX}*"),
                                    Sub(f"{LOG_GROUPS}:/aws/rds/instance/{DATABASE_IDENTIFIER}/*"),
                                    Sub(f"{LOG_GROUPS}:{WAF_LOG_GROUP}"),
                                ],
                            )
                        ),
                    ),
                ]
            ),
        )
    )
