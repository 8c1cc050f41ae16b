"""S3: the 3D models bucket (with the lifecycle that sends retired model files, a discontinued
product's or a replaced model's, to Glacier), the storefront's static site bucket, and the
logs bucket."""

from __future__ import annotations

from dataclasses import dataclass

from awacs.aws import Action, Allow, Bool, Deny, PolicyDocument, Principal, Statement, StringEquals
from awacs.aws import Condition as AwacsCondition
from troposphere import AWSObject, GetAtt, If, Join, Output, Ref, Sub, Template, s3

from petshore.contract import (
    RETIRED_GLACIER_DAYS,
    RETIRED_TAG_KEY,
    RETIRED_TAG_VALUE,
    UPLOAD_CORS_EXPOSED,
    UPLOAD_CORS_MAX_AGE,
    UPLOAD_CORS_METHODS,
    UPLOADS_KEY_PREFIX,
)
from templates.findings import accepted
from templates.parameters import HAS_DOMAIN, Params

NONCURRENT_VERSION_DAYS = 30
RETIRED_STORAGE_CLASS = "GLACIER_IR"
INCOMPLETE_UPLOAD_DAYS = 2
LOG_RETENTION_DAYS = 365
ELB_LOG_DELIVERY = "logdelivery.elasticloadbalancing.amazonaws.com"


@dataclass(frozen=True)
class Buckets:
    models: s3.Bucket
    site: s3.Bucket
    logs: s3.Bucket


def _private(name: str, logs: s3.Bucket | None, **props: object) -> s3.Bucket:
    """A bucket no one reaches but through policy: public access blocked, encrypted."""
    logging = (
        {
            "LoggingConfiguration": s3.LoggingConfiguration(
                DestinationBucketName=Ref(logs), LogFilePrefix=f"s3/{name}/"
            )
        }
        if logs is not None
        else {}
    )
    return s3.Bucket(
        name,
        PublicAccessBlockConfiguration=s3.PublicAccessBlockConfiguration(
            BlockPublicAcls=True,
            BlockPublicPolicy=True,
            IgnorePublicAcls=True,
            RestrictPublicBuckets=True,
        ),
        BucketEncryption=s3.BucketEncryption(
            ServerSideEncryptionConfiguration=[
                s3.ServerSideEncryptionRule(
                    ServerSideEncryptionByDefault=s3.ServerSideEncryptionByDefault(
                        SSEAlgorithm="AES256"
                    ),
                    BucketKeyEnabled=True,
                )
            ]
        ),
        DeletionPolicy="Retain",
        UpdateReplacePolicy="Retain",
        **logging,
        **props,
    )


def _tidy(rule_id: str, **props: object) -> s3.LifecycleRule:
    """A rule that also drops old versions and abandoned multipart uploads."""
    return s3.LifecycleRule(
        Id=rule_id,
        Status="Enabled",
        NoncurrentVersionExpiration=s3.NoncurrentVersionExpiration(
            NoncurrentDays=NONCURRENT_VERSION_DAYS
        ),
        AbortIncompleteMultipartUpload=s3.AbortIncompleteMultipartUpload(
            DaysAfterInitiation=INCOMPLETE_UPLOAD_DAYS
        ),
        **props,
    )


def _versioned() -> s3.VersioningConfiguration:
    return s3.VersioningConfiguration(Status="Enabled")


def add_storage(t: Template, params: Params) -> Buckets:
    logs = t.add_resource(
        _private(
            "LogsBucket",
            None,
            Metadata=accepted(
                ("CKV_AWS_18", "This is the access-log bucket; logging it to itself would loop."),
            ),
            # CloudFront standard logs are written with ACLs, which need this ownership mode.
            OwnershipControls=s3.OwnershipControls(
                Rules=[s3.OwnershipControlsRule(ObjectOwnership="BucketOwnerPreferred")]
            ),
            VersioningConfiguration=_versioned(),
            LifecycleConfiguration=s3.LifecycleConfiguration(
                Rules=[_tidy("ExpireLogs", ExpirationInDays=LOG_RETENTION_DAYS)]
            ),
        )
    )
    models = t.add_resource(
        _private(
            "ModelsBucket",
            logs,
            VersioningConfiguration=_versioned(),
            LifecycleConfiguration=s3.LifecycleConfiguration(
                Rules=[
                    # The catalog retires a model's files when no active product shows them:
                    # it rewrites them in place (so the days count from then) with this tag.
                    # Glacier Instant Retrieval keeps them readable through CloudFront, so a
                    # re-listed product shows its model at once (docs/architecture.md: cost).
                    s3.LifecycleRule(
                        Id="DiscontinuedModelsToGlacier",
                        Status="Enabled",
                        TagFilters=[s3.TagFilter(Key=RETIRED_TAG_KEY, Value=RETIRED_TAG_VALUE)],
                        Transitions=[
                            s3.LifecycleRuleTransition(
                                StorageClass=RETIRED_STORAGE_CLASS,
                                TransitionInDays=RETIRED_GLACIER_DAYS,
                            )
                        ],
                    ),
                    s3.LifecycleRule(
                        Id="ExpireAbandonedUploads",
                        Status="Enabled",
                        Prefix=UPLOADS_KEY_PREFIX,
                        ExpirationInDays=7,
                    ),
                    _tidy("TidyVersionsAndUploads"),
                ]
            ),
            # Browsers PUT uploads straight to S3 with presigned URLs.
            CorsConfiguration=s3.CorsConfiguration(
                CorsRules=[
                    s3.CorsRules(
                        AllowedMethods=list(UPLOAD_CORS_METHODS),
                        # Presigned URLs carry their own authorisation; the storefront's own
                        # domain is named when there is one.
                        AllowedOrigins=If(
                            HAS_DOMAIN,
                            [Sub("https://${Domain}", Domain=Ref(params.domain_name))],
                            ["*"],
                        ),
                        AllowedHeaders=["*"],
                        ExposedHeaders=list(UPLOAD_CORS_EXPOSED),
                        MaxAge=UPLOAD_CORS_MAX_AGE,
                    )
                ]
            ),
        )
    )
    # Versioned so a bad publish can be undone; old versions go after 30 days.
    site = t.add_resource(
        _private(
            "SiteBucket",
            logs,
            VersioningConfiguration=_versioned(),
            LifecycleConfiguration=s3.LifecycleConfiguration(Rules=[_tidy("TidySiteVersions")]),
        )
    )
    for bucket in (logs, models, site):
        t.add_output(Output(bucket.title, Value=Ref(bucket)))
    return Buckets(models, site, logs)


def _tls_only(bucket: s3.Bucket) -> Statement:
    return Statement(
        Sid="DenyInsecureTransport",
        Effect=Deny,
        Principal=Principal("*"),
        Action=[Action("s3", "*")],
        Resource=[GetAtt(bucket, "Arn"), Join("", [GetAtt(bucket, "Arn"), "/*"])],
        Condition=AwacsCondition(Bool("aws:SecureTransport", "false")),
    )


def _log_delivery(sid: str, action: str, resource: object) -> Statement:
    """VPC flow logs' delivery service, acting for this account only."""
    return Statement(
        Sid=sid,
        Effect=Allow,
        Principal=Principal("Service", "delivery.logs.amazonaws.com"),
        Action=[Action("s3", action)],
        Resource=[resource],
        Condition=AwacsCondition(StringEquals("aws:SourceAccount", Ref("AWS::AccountId"))),
    )


def add_logs_policy(t: Template, buckets: Buckets) -> s3.BucketPolicy:
    """Log delivery may write to the logs bucket: Elastic Load Balancing's log delivery
    service for ALB logs, the log delivery service for VPC flow logs. Both are service
    principals, which AWS runs in every region: a table of per-region ELB accounts fails to
    create the stack in each region it lacks."""
    logs_arn = GetAtt(buckets.logs, "Arn")
    account_logs = Sub("${Arn}/*/AWSLogs/${AWS::AccountId}/*", Arn=logs_arn)
    return t.add_resource(
        s3.BucketPolicy(
            "LogsBucketPolicy",
            Bucket=Ref(buckets.logs),
            PolicyDocument=PolicyDocument(
                Statement=[
                    _tls_only(buckets.logs),
                    Statement(
                        Sid="AlbAccessLogs",
                        Effect=Allow,
                        Principal=Principal("Service", ELB_LOG_DELIVERY),
                        Action=[Action("s3", "PutObject")],
                        Resource=[account_logs],
                    ),
                    _log_delivery("FlowLogsWrite", "PutObject", account_logs),
                    _log_delivery("FlowLogsAclCheck", "GetBucketAcl", logs_arn),
                ]
            ),
        )
    )


def add_origin_policies(t: Template, buckets: Buckets, distribution: AWSObject) -> None:
    """CloudFront, and only this distribution, reads the models and site buckets (OAC)."""
    for bucket in (buckets.models, buckets.site):
        t.add_resource(
            s3.BucketPolicy(
                f"{bucket.title}Policy",
                Bucket=Ref(bucket),
                PolicyDocument=PolicyDocument(
                    Statement=[
                        _tls_only(bucket),
                        Statement(
                            Sid="CloudFrontReads",
                            Effect=Allow,
                            Principal=Principal("Service", "cloudfront.amazonaws.com"),
                            Action=[Action("s3", "GetObject")],
                            Resource=[Join("", [GetAtt(bucket, "Arn"), "/*"])],
                            Condition=AwacsCondition(
                                StringEquals(
                                    "AWS:SourceArn",
                                    Sub(
                                        "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:"
                                        "distribution/${Id}",
                                        Id=Ref(distribution),
                                    ),
                                )
                            ),
                        ),
                    ]
                ),
            )
        )
