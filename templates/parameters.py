"""Deploy-time inputs and the conditions derived from them. Every parameter has a default that
deploys, so `aws cloudformation deploy` with no overrides succeeds."""

from __future__ import annotations

from dataclasses import dataclass

from troposphere import And, Condition, Equals, Not, Parameter, Ref, Template

from petshore.contract import MODEL_WORKER, SERVICES
from templates.capacity import MAX_INSTANCES, WORKER_MAX_INSTANCES, WORKER_MIN_INSTANCES

# Known when the template is rendered, so plain Python (see STYLE.md): the defaults.
DEFAULT_ENVIRONMENT = "production"
LATEST_AL2023_AMI = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
PLACEHOLDER_ARTIFACT_KEY = "petshore/petshore-artifact.tar.gz"

HAS_DOMAIN = "HasDomain"
HAS_CERTIFICATE = "HasCertificate"
SMALL = "SmallFootprint"
PRODUCTION = "ProductionFootprint"
CREATE_WAF = "CreateWebAcl"
HAS_WEB_ACL_ARN = "HasWebAclArn"
# CloudFront's web ACLs can be made in this region only.
WAF_REGION = "us-east-1"
HAS_ALARM_EMAIL = "HasAlarmEmail"
HAS_LAUNCH = "HasLaunchSchedule"
PINNED_IMAGE = "PinnedImage"
HAS_ARTIFACT = "HasArtifact"
# What `Footprint=small` runs instead of the production defaults.
SMALL_DATABASE_CLASS = "db.t4g.micro"
SMALL_INSTANCES = 1
# The logical ids of the model worker's resources start with this (ModelWorkerRole...).
WORKER_TITLE = "ModelWorker"


@dataclass(frozen=True)
class ServiceCapacity:
    minimum: Parameter
    maximum: Parameter


@dataclass(frozen=True)
class Params:
    environment: Parameter
    footprint: Parameter
    domain_name: Parameter
    hosted_zone_id: Parameter
    certificate_arn: Parameter
    artifact_bucket: Parameter
    artifact_key: Parameter
    image_id: Parameter
    image_parameter: Parameter
    image_refresh: Parameter
    instance_type: Parameter
    capacity: dict[str, ServiceCapacity]
    worker_instance_type: Parameter
    worker_capacity: ServiceCapacity
    launch_start: Parameter
    launch_end: Parameter
    launch_floor: Parameter
    enable_waf: Parameter
    web_acl_arn: Parameter
    price_class: Parameter
    db_instance_class: Parameter
    db_allocated_storage: Parameter
    db_max_storage: Parameter
    db_backup_window: Parameter
    db_maintenance_window: Parameter
    alarm_email: Parameter
    payment_provider: Parameter
    mail_sender: Parameter


def _capacity(
    t: Template, title: str, name: str, minimum: int, maximum: int, fewest: int = 0
) -> ServiceCapacity:
    def count(kind: str, default: int, least: int, text: str) -> Parameter:
        return t.add_parameter(
            Parameter(
                f"{title}{kind}Instances",
                Type="Number",
                Default=str(default),
                MinValue=str(least),
                MaxValue="100",
                Description=f"{text} {name} instances in the Auto Scaling group",
            )
        )

    # No desired count: the group starts at its minimum, and an update must never reset a
    # group that scaled out.
    return ServiceCapacity(
        count("Min", minimum, fewest, "Fewest (with Footprint=production)"),
        count("Max", maximum, 1, "Most"),
    )


def add_parameters(t: Template) -> Params:
    def param(name: str, **kwargs: object) -> Parameter:
        return t.add_parameter(Parameter(name, **kwargs))

    params = Params(
        environment=param(
            "Environment",
            Type="String",
            Default=DEFAULT_ENVIRONMENT,
            AllowedPattern="^[a-z][a-z0-9-]{1,19}$",
            Description="Name of this deployment (production, staging...): prefixes resource "
            "names and tags everything, so several can share one account",
        ),
        footprint=param(
            "Footprint",
            Type="String",
            Default="production",
            AllowedValues=["production", "small"],
            Description="production: two AZs, a NAT gateway per AZ, at least Min instances per "
            "service, a Multi-AZ database of DatabaseInstanceClass; small (staging, quiet "
            f"shops): one NAT, {SMALL_INSTANCES} instance per service at least, a single-AZ "
            f"{SMALL_DATABASE_CLASS}",
        ),
        domain_name=param(
            "DomainName",
            Type="String",
            Default="",
            AllowedPattern=r"^$|^([a-z0-9-]+\.)+[a-z]{2,}$",
            Description="Storefront domain (shop.example.com); empty: use the CloudFront name",
        ),
        hosted_zone_id=param(
            "HostedZoneId",
            Type="String",
            Default="",
            AllowedPattern="^$|^Z[A-Z0-9]{4,32}$",
            Description="Route 53 hosted zone of DomainName; with DomainName, adds alias records",
        ),
        certificate_arn=param(
            "CertificateArn",
            Type="String",
            Default="",
            AllowedPattern="^$|^arn:aws[a-z-]*:acm:us-east-1:[0-9]{12}:certificate/.+$",
            Description="ACM certificate in us-east-1 covering DomainName and origin.DomainName; "
            "empty: CloudFront's default certificate and HTTP from CloudFront to the ALB",
        ),
        artifact_bucket=param(
            "ArtifactBucket",
            Type="String",
            Default="petshore-artifacts-placeholder",
            AllowedPattern="^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
            Description="S3 bucket holding the service artifact that build.py writes to dist/",
        ),
        artifact_key=param(
            "ArtifactKey",
            Type="String",
            Default=PLACEHOLDER_ARTIFACT_KEY,
            Description="Key of the artifact in ArtifactBucket (a versioned name per release)",
        ),
        image_id=param(
            "ImageId",
            Type="String",
            Default="",
            AllowedPattern="^$|^ami-[0-9a-f]{8,17}$",
            Description="AMI of the service instances; empty: the one ImageParameter named "
            "when the stack was created (or ImageRefresh last changed), kept across updates",
        ),
        image_parameter=param(
            "ImageParameter",
            Type="String",
            Default=LATEST_AL2023_AMI,
            AllowedPattern="^/aws/service/.+$",
            Description="Public SSM parameter of the AMI to look up (arm64 instance types need "
            "the arm64 one)",
        ),
        image_refresh=param(
            "ImageRefresh",
            Type="String",
            Default="initial",
            Description="Change this (a date, say) to look ImageParameter up again: the fleet "
            "rolls onto the newest AMI, and only then",
        ),
        instance_type=param(
            "InstanceType",
            Type="String",
            Default="t3.small",
            AllowedValues=["t3.small", "t3.medium", "t3.large", "m6i.large", "c6i.large"],
            Description="Instance type of the services' instances (not the model worker's)",
        ),
        # MAX_INSTANCES comes from bench/capacity.py (docs/architecture.md).
        capacity={
            s.name: _capacity(t, s.name.capitalize(), s.name, 2, MAX_INSTANCES[s.name])
            for s in SERVICES
        },
        # A model job runs Node.js with a 2 GB heap, and Chromium for its poster: 4 GiB at
        # least.
        worker_instance_type=param(
            f"{WORKER_TITLE}InstanceType",
            Type="String",
            Default="t3.medium",
            AllowedValues=[
                "t3.medium",
                "t3.large",
                "c6i.large",
                "m6i.large",
                "c6i.xlarge",
                "m6i.xlarge",
            ],
            Description="Instance type of the model worker, which validates, optimises and "
            "publishes uploaded models and renders their posters",
        ),
        # Target tracking on jobs per instance needs an instance to divide by: one at least.
        worker_capacity=_capacity(
            t, WORKER_TITLE, MODEL_WORKER.name, WORKER_MIN_INSTANCES, WORKER_MAX_INSTANCES, 1
        ),
        launch_start=param(
            "LaunchStartTime",
            Type="String",
            Default="",
            AllowedPattern=r"^$|^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$",
            Description="A launch you know is coming (UTC, 2026-12-01T08:45:00Z): every group "
            "holds at least LaunchMinInstances from then until LaunchEndTime; empty: none",
        ),
        launch_end=param(
            "LaunchEndTime",
            Type="String",
            Default="",
            AllowedPattern=r"^$|^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$",
            Description="When the launch floor ends (UTC); needed with LaunchStartTime",
        ),
        launch_floor=param(
            "LaunchMinInstances",
            Type="Number",
            Default="4",
            MinValue="1",
            MaxValue="100",
            Description="Instances each group holds during the launch (at most its Max)",
        ),
        price_class=param(
            "PriceClass",
            Type="String",
            Default="PriceClass_All",
            AllowedValues=["PriceClass_All", "PriceClass_200", "PriceClass_100"],
            Description="CloudFront edges: All (nearest edge everywhere, e.g. Sydney, Jakarta, "
            "Sao Paulo), 200 (no South America, Australia, NZ), 100 (North America, Europe, "
            "Israel only; cheapest)",
        ),
        enable_waf=param(
            "EnableWaf",
            Type="String",
            Default="true",
            AllowedValues=["true", "false"],
            Description="Put a WAF web ACL (AWS managed rules, rate limits) in front of "
            f"CloudFront: made by the stack in {WAF_REGION}; elsewhere give WebAclArn",
        ),
        web_acl_arn=param(
            "WebAclArn",
            Type="String",
            Default="",
            AllowedPattern=f"^$|^arn:aws[a-z-]*:wafv2:{WAF_REGION}:[0-9]{{12}}:global/webacl/.+$",
            Description=f"A CloudFront web ACL made in {WAF_REGION} (CloudFront's web ACLs "
            "live there only), for a stack in another region; empty: the stack's own, with "
            f"EnableWaf in {WAF_REGION}",
        ),
        db_instance_class=param(
            "DatabaseInstanceClass",
            Type="String",
            Default="db.m7g.large",
            AllowedValues=["db.m7g.large", "db.m7g.xlarge", "db.r7g.large", "db.r7g.xlarge"],
            Description="RDS PostgreSQL instance class with Footprint=production "
            "(non-burstable: AWS advises burstable classes for non-production only)",
        ),
        db_allocated_storage=param(
            "DatabaseStorageGiB",
            Type="Number",
            Default="50",
            MinValue="20",
            MaxValue="16384",
            Description="Starting storage of the database",
        ),
        db_max_storage=param(
            "DatabaseMaxStorageGiB",
            Type="Number",
            Default="500",
            MinValue="21",
            MaxValue="65536",
            Description="Storage the database grows to by itself as it fills (more than "
            "DatabaseStorageGiB)",
        ),
        db_backup_window=param(
            "DatabaseBackupWindow",
            Type="String",
            Default="02:00-02:30",
            AllowedPattern=r"^\d\d:\d\d-\d\d:\d\d$",
            Description="Daily backup window, UTC (the quietest half hour of the shop's day)",
        ),
        db_maintenance_window=param(
            "DatabaseMaintenanceWindow",
            Type="String",
            Default="sun:03:00-sun:03:30",
            AllowedPattern=r"^(mon|tue|wed|thu|fri|sat|sun):\d\d:\d\d-"
            r"(mon|tue|wed|thu|fri|sat|sun):\d\d:\d\d$",
            Description="Weekly maintenance window, UTC: patches and a Multi-AZ failover land "
            "only here, never on a launch day chosen by AWS",
        ),
        alarm_email=param(
            "AlarmEmail",
            Type="String",
            Default="",
            AllowedPattern=r"^$|^[^@\s]+@[^@\s]+$",
            Description="Address that receives alarm notifications (empty: topic only)",
        ),
        payment_provider=param(
            "PaymentProvider",
            Type="String",
            Default="test",
            AllowedValues=["test", "stripe"],
            Description="test: test cards, no money moves; stripe: real charges, with the keys "
            "put in the PaymentSecret secret (secret_key, webhook_secret)",
        ),
        mail_sender=param(
            "MailSender",
            Type="String",
            Default="",
            AllowedPattern=r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$",
            Description="From address of order confirmations, verified in SES in this region "
            "(the address, or its domain; SES out of its sandbox to mail anyone); empty: no "
            "emails, and the storefront promises none",
        ),
    )
    t.add_condition(
        HAS_DOMAIN,
        And(Not(Equals(Ref(params.domain_name), "")), Not(Equals(Ref(params.hosted_zone_id), ""))),
    )
    t.add_condition(HAS_CERTIFICATE, Not(Equals(Ref(params.certificate_arn), "")))
    t.add_condition(SMALL, Equals(Ref(params.footprint), "small"))
    t.add_condition(PRODUCTION, Equals(Ref(params.footprint), "production"))
    t.add_condition(HAS_LAUNCH, Not(Equals(Ref(params.launch_start), "")))
    t.add_condition(PINNED_IMAGE, Not(Equals(Ref(params.image_id), "")))
    # A stack deployed with every default has no artifact to run: its instances cannot signal
    # that they serve, and it must still complete (they say why in their boot log).
    t.add_condition(HAS_ARTIFACT, Not(Equals(Ref(params.artifact_key), PLACEHOLDER_ARTIFACT_KEY)))
    t.add_condition(HAS_WEB_ACL_ARN, Not(Equals(Ref(params.web_acl_arn), "")))
    t.add_condition(
        CREATE_WAF,
        And(
            Equals(Ref(params.enable_waf), "true"),
            Equals(Ref("AWS::Region"), WAF_REGION),
            Not(Condition(HAS_WEB_ACL_ARN)),
        ),
    )
    # Impossible combinations fail before anything is created, with a sentence that says why.
    t.add_rule(
        "CertificateNeedsDomain",
        {
            "RuleCondition": Not(Equals(Ref(params.certificate_arn), "")),
            "Assertions": [
                {
                    "Assert": And(
                        Not(Equals(Ref(params.domain_name), "")),
                        Not(Equals(Ref(params.hosted_zone_id), "")),
                    ),
                    "AssertDescription": "CertificateArn needs DomainName and HostedZoneId: "
                    "CloudFront serves the certificate for DomainName and reaches the ALB "
                    "as origin.DomainName",
                }
            ],
        },
    )
    t.add_rule(
        "WebAclNeedsItsRegion",
        {
            "RuleCondition": And(
                Equals(Ref(params.enable_waf), "true"), Not(Equals(Ref("AWS::Region"), WAF_REGION))
            ),
            "Assertions": [
                {
                    "Assert": Not(Equals(Ref(params.web_acl_arn), "")),
                    "AssertDescription": f"CloudFront's web ACLs can only be made in {WAF_REGION}: "
                    f"outside it, give WebAclArn (a web ACL made there: the "
                    f"dist/petshore-web-acl.json stack makes this one's), or EnableWaf=false to "
                    f"go without a WAF",
                }
            ],
        },
    )
    t.add_rule(
        "LaunchNeedsAnEnd",
        {
            "RuleCondition": Not(Equals(Ref(params.launch_start), "")),
            "Assertions": [
                {
                    "Assert": Not(Equals(Ref(params.launch_end), "")),
                    "AssertDescription": "LaunchStartTime needs LaunchEndTime: the launch "
                    "floor must end, or the shop pays for it every night",
                }
            ],
        },
    )
    t.add_condition(HAS_ALARM_EMAIL, Not(Equals(Ref(params.alarm_email), "")))
    return params
