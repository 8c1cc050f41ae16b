"""Single facts about the rendered stack, each something an AWS reviewer would check."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest
from cfnlint.helpers import REGIONS

from petshore.contract import (
    API_CSP,
    CARTS,
    CATALOG_CACHE_SECONDS,
    MEDIA_KEY_PREFIX,
    MEDIA_PATH_PREFIX,
    MODEL_JOB_ATTEMPTS,
    MODEL_JOB_VISIBILITY_SECONDS,
    MODELS_KEY_PREFIX,
    MODELS_PATH_PREFIX,
    REFERRER_POLICY,
    RETIRED_TAG_KEY,
    RETIRED_TAG_VALUE,
    S3_BUCKET_ORIGIN,
    SERVICES,
    SESSIONS,
    SESSIONS_PATH,
    UPLOADS_KEY_PREFIX,
    Env,
    storefront_csp,
)
from templates.capacity import (
    INSTANCE_WARMUP_SECONDS,
    JOBS_WAITING_PER_INSTANCE,
    MEASURED_RPS,
    SIGNAL_TIMEOUT,
    requests_per_target_per_minute,
)
from templates.compute import TARGET_CPU_PERCENT, path_patterns
from templates.edge import CACHING_DISABLED, CACHING_OPTIMIZED, build_web_acl_template
from templates.function_zip import HANDLER, database_logins_zip
from templates.parameters import HAS_ARTIFACT, SMALL_DATABASE_CLASS, WORKER_TITLE
from tests.infra.prune import references

BIN = Path(sys.executable).parent
Template = dict[str, Any]


def of_type(template: Template, kind: str) -> dict[str, dict[str, Any]]:
    return {n: r for n, r in template["Resources"].items() if r["Type"] == kind}


def props(resource: dict[str, Any]) -> dict[str, Any]:
    return dict(resource.get("Properties", {}))


def ref(node: Any) -> str | None:
    return node.get("Ref") if isinstance(node, dict) else None


def get_att(node: Any) -> str | None:
    """The logical id a `Fn::GetAtt` names."""
    return node.get("Fn::GetAtt", [None])[0] if isinstance(node, dict) else None


# Every Auto Scaling group's title: the services' and the model worker's.
GROUP_TITLES = [*(s.name.capitalize() for s in SERVICES), WORKER_TITLE]


def statements_of(template: Template, title: str) -> list[dict[str, Any]]:
    """The statements of the instance role `<title>Role`."""
    policies = props(template["Resources"][f"{title}Role"])["Policies"]
    return [s for p in policies for s in p["PolicyDocument"]["Statement"]]


def granted(template: Template, title: str, action: str) -> list[Any]:
    """The resources `<title>Role` may do `action` on."""
    return [
        r for s in statements_of(template, title) if action in s["Action"] for r in s["Resource"]
    ]


def object_prefix(resource: Any) -> str | None:
    """`models/` for the models bucket's `<arn>/models/*` (`media/`, `uploads/` alike); None
    for anything else."""
    parts = resource.get("Fn::Join", ["", []])[1] if isinstance(resource, dict) else []
    if len(parts) == 2 and get_att(parts[0]) == "ModelsBucket":
        return str(parts[1]).removeprefix("/").removesuffix("*")
    return None


@pytest.fixture(scope="module")
def rendered(template: Template, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "petshore.json"
    path.write_text(json.dumps(template, indent=2))
    return path


def test_cfn_lint_reports_nothing(rendered: Path) -> None:
    linted = subprocess.run(
        [str(BIN / "cfn-lint"), str(rendered)], capture_output=True, text=True, timeout=300
    )
    assert linted.returncode == 0, linted.stdout + linted.stderr
    assert linted.stdout.strip() == ""


def test_checkov_passes_with_only_written_skips(template: Template, rendered: Path) -> None:
    checked = subprocess.run(
        [
            str(BIN / "checkov"),
            "-f",
            str(rendered),
            "--framework",
            "cloudformation",
            "--compact",
            "--quiet",
            "--skip-download",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    report = json.loads(checked.stdout)
    assert report["summary"]["failed"] == 0, [
        (c["check_id"], c["resource"]) for c in report["results"]["failed_checks"]
    ]
    skips = [
        skip
        for resource in template["Resources"].values()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]
    # Each function the stack runs for itself (lookups, rotations) is called by an AWS
    # service that reports its failures, and reaches AWS APIs only: two skips each.
    assert len(skips) <= 12, "the list of accepted findings should stay short"
    assert all(len(skip["comment"]) > 30 for skip in skips), "every skip says why"


def test_nothing_but_the_front_door_takes_traffic_from_outside(template: Template) -> None:
    groups = of_type(template, "AWS::EC2::SecurityGroup")
    ingress = list(of_type(template, "AWS::EC2::SecurityGroupIngress").values())
    for group in groups.values():
        for rule in props(group).get("SecurityGroupIngress", []):
            ingress.append({"Properties": {**rule, "GroupId": {"Ref": "inline"}}})
    assert ingress
    for rule in map(props, ingress):
        assert "CidrIp" not in rule and "CidrIpv6" not in rule, rule
    from_outside = [r for r in map(props, ingress) if "SourcePrefixListId" in r]
    assert [ref(r["GroupId"]) for r in from_outside] == ["PublicLoadBalancerSecurityGroup"]
    database_sources = {
        ref(r["SourceSecurityGroupId"])
        for r in map(props, ingress)
        if ref(r["GroupId"]) == "DatabaseSecurityGroup"
    }
    # The services that own a database, and the function that makes their logins.
    assert database_sources == {
        f"{s.name.capitalize()}SecurityGroup" for s in SERVICES if s.database
    } | {"DatabaseLoginsSecurityGroup"}
    for service in SERVICES:
        sources = {
            ref(r["SourceSecurityGroupId"])
            for r in map(props, ingress)
            if ref(r["GroupId"]) == f"{service.name.capitalize()}SecurityGroup"
        }
        assert sources <= {"PublicLoadBalancerSecurityGroup", "InternalLoadBalancerSecurityGroup"}
        assert all(
            r.get("FromPort") == service.port
            for r in map(props, ingress)
            if ref(r["GroupId"]) == f"{service.name.capitalize()}SecurityGroup"
        )


# Read-only actions IAM lets name no resource (the Service Authorization Reference lists none
# for them): the CloudFront prefix list lookup's and the origin secret rotation's.
UNSCOPED_ACTIONS = {"ec2:DescribeManagedPrefixLists", "elasticloadbalancing:DescribeRules"}


def test_no_wildcard_actions_or_resources_in_iam(template: Template) -> None:
    statements = [
        statement
        for role in of_type(template, "AWS::IAM::Role").values()
        for policy in props(role).get("Policies", [])
        for statement in policy["PolicyDocument"]["Statement"]
    ]
    assert statements
    for statement in statements:
        assert statement["Effect"] == "Allow"
        for action in statement["Action"]:
            assert "*" not in action, statement
        if "*" in statement["Resource"]:
            # Only actions that take no resource-level permission may name every resource.
            assert set(statement["Action"]) <= UNSCOPED_ACTIONS, statement
            assert statement["Resource"] == ["*"]


def test_each_service_reads_only_its_own_stores(template: Template) -> None:
    def grants(role: str) -> str:
        return json.dumps(props(template["Resources"][f"{role}Role"])["Policies"])

    assert "ModelsBucket" in grants("Catalog")
    assert "ModelsBucket" not in grants("Cart") and "ModelsBucket" not in grants("Orders")
    assert "CartsTable" in grants("Cart")
    assert "CartsTable" not in grants("Catalog") and "CartsTable" not in grants("Orders")
    assert "OrdersDatabaseSecret" in grants("Orders")
    assert "OrdersDatabaseSecret" not in grants("Catalog")
    assert "CatalogDatabaseSecret" not in grants("Orders")
    assert "DatabaseSecret" not in grants("Cart")
    # Only the service that charges cards can read the payment provider's keys.
    assert "PaymentSecret" in grants("Orders")
    assert "PaymentSecret" not in grants("Catalog") and "PaymentSecret" not in grants("Cart")
    # Only the catalog talks to the model worker.
    assert "sqs:" in grants("Catalog")
    assert "sqs:" not in grants("Cart") and "sqs:" not in grants("Orders")
    assert "ModelJobsQueue" not in grants("Cart") + grants("Orders")


def test_the_catalog_sends_jobs_and_reads_results_but_never_takes_a_job(
    template: Template,
) -> None:
    assert [get_att(r) for r in granted(template, "Catalog", "sqs:SendMessage")] == [
        "ModelJobsQueue"
    ]
    for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"):
        assert [get_att(r) for r in granted(template, "Catalog", action)] == ["ModelResultsQueue"]
        assert [get_att(r) for r in granted(template, WORKER_TITLE, action)] == ["ModelJobsQueue"]
    assert [get_att(r) for r in granted(template, WORKER_TITLE, "sqs:SendMessage")] == [
        "ModelResultsQueue"
    ]
    # The catalog signs browsers' uploads and retires published files; it writes nothing else.
    written = {object_prefix(r) for r in granted(template, "Catalog", "s3:PutObject")}
    assert written == {UPLOADS_KEY_PREFIX, MODELS_KEY_PREFIX, MEDIA_KEY_PREFIX}


def test_the_model_worker_reads_no_secret_and_writes_only_published_files(
    template: Template,
) -> None:
    statements = statements_of(template, WORKER_TITLE)
    actions = {a for s in statements for a in s["Action"]}
    assert not {a for a in actions if a.startswith(("secretsmanager:", "dynamodb:", "rds"))}
    user_data = json.dumps(props(template["Resources"][f"{WORKER_TITLE}LaunchTemplate"]))
    assert "Secret" not in user_data and Env.ADMIN_TOKEN_SECRET_ARN not in user_data
    writes = ("s3:PutObject", "s3:PutObjectTagging", "s3:DeleteObjectTagging", "s3:DeleteObject")
    written = [r for s in statements if set(s["Action"]) & set(writes) for r in s["Resource"]]
    # Models and photos, nothing else.
    assert written and {object_prefix(r) for r in written} == {MODELS_KEY_PREFIX, MEDIA_KEY_PREFIX}
    # It reads uploads and published files, and the artifact it boots from.
    read = [object_prefix(r) for r in granted(template, WORKER_TITLE, "s3:GetObject")]
    assert set(read) == {UPLOADS_KEY_PREFIX, MODELS_KEY_PREFIX, MEDIA_KEY_PREFIX, None}
    assert read.count(None) == 1  # the artifact


def test_model_jobs_are_retried_then_set_aside(template: Template) -> None:
    resources = template["Resources"]
    jobs = props(resources["ModelJobsQueue"])
    assert jobs["VisibilityTimeout"] == MODEL_JOB_VISIBILITY_SECONDS
    assert jobs["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["ModelJobsDeadLetterQueue", "Arn"]},
        "maxReceiveCount": MODEL_JOB_ATTEMPTS,
    }
    results = props(resources["ModelResultsQueue"])
    assert get_att(results["RedrivePolicy"]["deadLetterTargetArn"]) == "ModelResultsDeadLetterQueue"
    for name in ("ModelJobs", "ModelResults"):
        queue = props(resources[f"{name}Queue"])
        dead = props(resources[f"{name}DeadLetterQueue"])
        # SQS counts a dead letter's age from when it was first sent.
        assert dead["MessageRetentionPeriod"] > queue["MessageRetentionPeriod"]
        assert "RedrivePolicy" not in dead
    alarms = of_type(template, "AWS::CloudWatch::Alarm")
    watched = {
        get_att(d["Value"]): props(a)["MetricName"]
        for a in alarms.values()
        for d in props(a).get("Dimensions", [])
        if d["Name"] == "QueueName"
    }
    assert watched == {
        "ModelJobsDeadLetterQueue": "ApproximateNumberOfMessagesVisible",
        "ModelResultsDeadLetterQueue": "ApproximateNumberOfMessagesVisible",
        "ModelJobsQueue": "ApproximateAgeOfOldestMessage",
    }


def test_every_queue_is_encrypted_with_the_data_key_and_tls_only(template: Template) -> None:
    queues = of_type(template, "AWS::SQS::Queue")
    assert len(queues) == 4
    policies = {
        ref(q): props(p)["PolicyDocument"]["Statement"]
        for p in of_type(template, "AWS::SQS::QueuePolicy").values()
        for q in props(p)["Queues"]
    }
    for name, queue in queues.items():
        assert props(queue)["KmsMasterKeyId"] == {"Ref": "DataKey"}
        (deny,) = policies[name]
        assert deny["Effect"] == "Deny" and deny["Principal"] == "*"
        assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    # Whoever sends or reads a queue's messages may use the key that encrypts them.
    for title in ("Catalog", WORKER_TITLE):
        assert [get_att(r) for r in granted(template, title, "kms:GenerateDataKey")] == ["DataKey"]
        assert [get_att(r) for r in granted(template, title, "kms:Decrypt")] == ["DataKey"]


def test_the_model_worker_has_no_load_balancer_and_scales_on_its_queue_backlog(
    template: Template,
) -> None:
    group = props(template["Resources"][f"{WORKER_TITLE}AutoScalingGroup"])
    assert group["HealthCheckType"] == "EC2"
    assert group["TargetGroupARNs"] == {"Ref": "AWS::NoValue"}
    assert group["MaxSize"] == {"Ref": f"{WORKER_TITLE}MaxInstances"}
    assert template["Parameters"][f"{WORKER_TITLE}MinInstances"]["MinValue"] == "1"
    policies = [
        props(p)
        for p in of_type(template, "AWS::AutoScaling::ScalingPolicy").values()
        if ref(props(p)["AutoScalingGroupName"]) == f"{WORKER_TITLE}AutoScalingGroup"
    ]
    (policy,) = policies
    config = policy["TargetTrackingConfiguration"]
    assert config["TargetValue"] == JOBS_WAITING_PER_INSTANCE
    metrics = {m["Id"]: m for m in config["CustomizedMetricSpecification"]["Metrics"]}
    returned = [m for m in metrics.values() if m["ReturnData"]]
    assert [m["Expression"] for m in returned] == ["waiting / serving"]
    waiting = metrics["waiting"]["MetricStat"]["Metric"]
    assert (waiting["Namespace"], waiting["MetricName"]) == (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
    )
    assert get_att(waiting["Dimensions"][0]["Value"]) == "ModelJobsQueue"
    serving = metrics["serving"]["MetricStat"]["Metric"]
    assert serving["MetricName"] == "GroupInServiceInstances"
    assert ref(serving["Dimensions"][0]["Value"]) == f"{WORKER_TITLE}AutoScalingGroup"
    # Nothing routes to it, and it takes no connection.
    assert f"{WORKER_TITLE}TargetGroup" not in template["Resources"]
    ingress = of_type(template, "AWS::EC2::SecurityGroupIngress").values()
    assert not [i for i in ingress if ref(props(i)["GroupId"]) == f"{WORKER_TITLE}SecurityGroup"]


def test_every_service_scales_on_cpu_and_on_requests_per_instance(template: Template) -> None:
    groups = of_type(template, "AWS::AutoScaling::AutoScalingGroup")
    policies = of_type(template, "AWS::AutoScaling::ScalingPolicy")
    assert sorted(groups) == sorted(f"{title}AutoScalingGroup" for title in GROUP_TITLES)
    scaled: dict[str | None, dict[str, float]] = {}
    for policy in map(props, policies.values()):
        config = policy["TargetTrackingConfiguration"]
        if "PredefinedMetricSpecification" not in config:
            continue  # the model worker's, on its queue
        metric = config["PredefinedMetricSpecification"]["PredefinedMetricType"]
        scaled.setdefault(ref(policy["AutoScalingGroupName"]), {})[metric] = config["TargetValue"]
    for service in SERVICES:
        name = f"{service.name.capitalize()}AutoScalingGroup"
        assert scaled[name] == {
            "ASGAverageCPUUtilization": TARGET_CPU_PERCENT,
            "ALBRequestCountPerTarget": requests_per_target_per_minute(service.name),
        }
        assert 0 < scaled[name]["ALBRequestCountPerTarget"] < MEASURED_RPS[service.name] * 60
        assert props(groups[name])["HealthCheckType"] == "ELB"
    for group in map(props, groups.values()):
        assert [ref(s) for s in group["VPCZoneIdentifier"]] == ["PrivateSubnet1", "PrivateSubnet2"]
        assert group["DefaultInstanceWarmup"] == INSTANCE_WARMUP_SECONDS
        # An update must never reset a group that scaled out.
        assert "DesiredCapacity" not in group


def test_each_instance_runs_a_worker_per_vcpu(template: Template) -> None:
    for service in SERVICES:
        user_data = json.dumps(
            props(template["Resources"][f"{service.name.capitalize()}LaunchTemplate"])
        )
        assert f"\\n{Env.WORKERS}=${{EnvPetshoreWorkers}}" in user_data
        assert '"EnvPetshoreWorkers": "auto"' in user_data


def test_releases_wait_for_instances_that_serve_and_roll_back_otherwise(
    template: Template,
) -> None:
    for name in GROUP_TITLES:
        title = f"{name}AutoScalingGroup"
        group = template["Resources"][title]
        minimum = props(group)["MinSize"]
        # Every instance the group starts with must signal; only the placeholder artifact
        # (a stack deployed with every default) has nothing that could.
        assert group["CreationPolicy"]["ResourceSignal"] == {
            "Count": {"Fn::If": ["HasArtifact", minimum, 0]},
            "Timeout": SIGNAL_TIMEOUT,
        }
        rolling = group["UpdatePolicy"]["AutoScalingRollingUpdate"]
        assert rolling["WaitOnResourceSignals"] == {"Fn::If": ["HasArtifact", True, False]}
        assert rolling["MinInstancesInService"] == minimum
        assert rolling["MaxBatchSize"] == 1
        assert rolling["PauseTime"] == SIGNAL_TIMEOUT
        assert "HealthCheck" in rolling["SuspendProcesses"]
        scheduled = group["UpdatePolicy"]["AutoScalingScheduledAction"]
        assert scheduled["IgnoreUnmodifiedGroupSizeProperties"] is True
        # The instance knows which resource to signal, and may.
        user_data = json.dumps(props(template["Resources"][f"{name}LaunchTemplate"]))
        assert f'"EnvPetshoreSignalResource": "{title}"' in user_data
        policy = json.dumps(props(template["Resources"][f"{name}Role"])["Policies"])
        assert '"cloudformation:SignalResource"' in policy and '"AWS::StackId"' in policy


def test_the_ami_changes_only_when_the_operator_says_so(template: Template) -> None:
    assert template["Parameters"]["ImageId"]["Type"] == "String"
    assert "SSM" not in json.dumps({k: v["Type"] for k, v in template["Parameters"].items()})
    lookup = template["Resources"]["ImageLookup"]
    assert ref(props(lookup)["Refresh"]) == "ImageRefresh"
    assert set(props(lookup)) == {"ServiceToken", "ParameterName", "Refresh"}
    for launch in of_type(template, "AWS::EC2::LaunchTemplate").values():
        image = props(launch)["LaunchTemplateData"]["ImageId"]
        assert image == {
            "Fn::If": [
                "PinnedImage",
                {"Ref": "ImageId"},
                {"Fn::GetAtt": ["ImageLookup", "ImageId"]},
            ]
        }


def test_a_known_launch_holds_a_floor_between_two_times(template: Template) -> None:
    actions = of_type(template, "AWS::AutoScaling::ScheduledAction")
    assert len(actions) == 2 * len(SERVICES)
    for action in actions.values():
        assert action["Condition"] == "HasLaunchSchedule"
    floors = {ref(props(a)["StartTime"]): props(a)["MinSize"] for a in actions.values()}
    assert floors["LaunchStartTime"] == {"Ref": "LaunchMinInstances"}
    assert "LaunchEndTime" in floors
    assert "LaunchNeedsAnEnd" in template["Rules"]


def test_alarms_can_reach_someone(template: Template) -> None:
    topic = props(template["Resources"]["AlarmTopic"])
    assert topic["KmsMasterKeyId"] == {"Ref": "DataKey"}
    key_policy = props(template["Resources"]["DataKey"])["KeyPolicy"]["Statement"]
    cloudwatch = [s for s in key_policy if s["Sid"] == "CloudWatchPublishesAlarms"]
    assert cloudwatch and cloudwatch[0]["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    alarms = of_type(template, "AWS::CloudWatch::Alarm")
    for alarm in map(props, alarms.values()):
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    expected = {
        "Api5xxRateAlarm",
        "InternalApi5xxRateAlarm",
        "Edge5xxRateAlarm",
        "DatabaseConnectionsAlarm",
        "DatabaseMemoryAlarm",
        "DatabaseCpuAlarm",
        "DatabaseStorageAlarm",
    }
    for service in SERVICES:
        title = service.name.capitalize()
        expected |= {f"{title}{k}Alarm" for k in ("AtMax", "CpuCredits", "Latency")}
    expected |= {f"{WORKER_TITLE}AtMaxAlarm", f"{WORKER_TITLE}CpuCreditsAlarm"}
    expected |= {"ModelJobsDeadLetterAlarm", "ModelResultsDeadLetterAlarm", "ModelJobsWaitingAlarm"}
    assert expected <= set(alarms)
    latency = props(alarms["OrdersLatencyAlarm"])
    assert latency["ExtendedStatistic"] == "p99"


def test_edges_everywhere_and_public_catalog_reads_cached_briefly(template: Template) -> None:
    assert template["Parameters"]["PriceClass"]["Default"] == "PriceClass_All"
    config = props(template["Resources"]["Distribution"])["DistributionConfig"]
    assert config["PriceClass"] == {"Ref": "PriceClass"}
    behaviors = [b["PathPattern"] for b in config["CacheBehaviors"]]
    catalog = behaviors.index("/api/catalog/*")
    assert catalog < behaviors.index("/api/*"), "CloudFront takes the first pattern that matches"
    assert config["CacheBehaviors"][catalog]["CachePolicyId"] == {"Ref": "CatalogCachePolicy"}
    policy = props(template["Resources"]["CatalogCachePolicy"])["CachePolicyConfig"]
    assert policy["MaxTTL"] == CATALOG_CACHE_SECONDS
    assert policy["DefaultTTL"] == 0, "nothing the catalog did not mark cacheable is kept"
    keys = policy["ParametersInCacheKeyAndForwardedToOrigin"]
    assert keys["HeadersConfig"]["Headers"] == ["Authorization"]
    assert keys["CookiesConfig"]["CookieBehavior"] == "none"
    api = config["CacheBehaviors"][behaviors.index("/api/*")]
    assert api["CachePolicyId"] == CACHING_DISABLED


def test_the_small_footprint_is_one_nat_one_instance_and_a_single_az_database(
    template: Template,
) -> None:
    assert template["Parameters"]["Footprint"]["AllowedValues"] == ["production", "small"]
    resources = template["Resources"]
    assert resources["NatGateway2"]["Condition"] == "ProductionFootprint"
    database = props(resources["Database"])
    assert database["MultiAZ"] == {"Fn::If": ["SmallFootprint", False, True]}
    assert database["DBInstanceClass"]["Fn::If"][1] == SMALL_DATABASE_CLASS
    production_classes = template["Parameters"]["DatabaseInstanceClass"]["AllowedValues"]
    assert not [c for c in production_classes if c.startswith(("db.t3", "db.t4g"))]
    for group in map(props, of_type(template, "AWS::AutoScaling::AutoScalingGroup").values()):
        assert group["MinSize"]["Fn::If"][:2] == ["SmallFootprint", 1]


def test_instances_use_imdsv2_encrypted_disks_and_no_ssh_key(template: Template) -> None:
    for template_props in map(props, of_type(template, "AWS::EC2::LaunchTemplate").values()):
        data = template_props["LaunchTemplateData"]
        assert data["MetadataOptions"]["HttpTokens"] == "required"
        assert "KeyName" not in data
        assert all(m["Ebs"]["Encrypted"] for m in data["BlockDeviceMappings"])


# Memory of the instance types the template offers, in GiB.
MEMORY_GIB = {"t3.small": 2, "t3.medium": 4, "t3.large": 8, "m6i.large": 8, "c6i.large": 4}
MEMORY_GIB |= {"c6i.xlarge": 8, "m6i.xlarge": 16}


def test_the_model_worker_has_room_to_process_models(template: Template) -> None:
    """The model worker runs the pipeline (a 2 GB Node.js heap, Chromium for posters): none
    of the types offered for it has less than 4 GiB. The services, the catalog included, no
    longer run it and share InstanceType."""

    def instance_type(title: str) -> str | None:
        launch = props(template["Resources"][f"{title}LaunchTemplate"])
        return ref(launch["LaunchTemplateData"]["InstanceType"])

    assert {instance_type(s.name.capitalize()) for s in SERVICES} == {"InstanceType"}
    assert instance_type(WORKER_TITLE) == f"{WORKER_TITLE}InstanceType"
    assert "CatalogInstanceType" not in template["Parameters"]
    offered = template["Parameters"][f"{WORKER_TITLE}InstanceType"]["AllowedValues"]
    assert min(MEMORY_GIB[t] for t in offered) >= 4
    assert set(template["Parameters"]["InstanceType"]["AllowedValues"]) <= set(MEMORY_GIB)


def test_listener_rules_follow_the_routing_table(template: Template) -> None:
    rules = of_type(template, "AWS::ElasticLoadBalancingV2::ListenerRule")
    public = {}
    for rule in map(props, rules.values()):
        paths = [c for c in rule["Conditions"] if c["Field"] == "path-pattern"]
        if "PublicHttp" in json.dumps(rule["ListenerArn"]) and paths:
            public[tuple(paths[0]["PathPatternConfig"]["Values"])] = ref(
                rule["Actions"][0]["TargetGroupArn"]
            )
    assert public == {
        tuple(path_patterns(s)): f"{s.name.capitalize()}TargetGroup" for s in SERVICES
    }
    for service in SERVICES:
        assert f"/api/{service.name}" in path_patterns(service)
        group = props(template["Resources"][f"{service.name.capitalize()}TargetGroup"])
        assert group["HealthCheckPath"] == service.health_path
        assert group["Port"] == service.port


def test_the_database_is_private_multi_az_and_managed(template: Template) -> None:
    (database,) = of_type(template, "AWS::RDS::DBInstance").values()
    p = props(database)
    assert p["PubliclyAccessible"] is False
    assert p["MultiAZ"] == {"Fn::If": ["SmallFootprint", False, True]}
    assert p["StorageEncrypted"] is True
    assert p["ManageMasterUserPassword"] is True
    assert "MasterUserPassword" not in p
    assert p["DeletionProtection"] is True
    assert database["DeletionPolicy"] == "Snapshot"
    assert re.fullmatch(r"\d+\.\d+", p["EngineVersion"])
    assert p["BackupRetentionPeriod"] >= 7
    assert p["MonitoringInterval"] > 0


def test_each_services_tables_match_its_entry(template: Template) -> None:
    tables = {
        props(r)["TableName"]["Fn::Join"][1][-1]: props(r)
        for r in of_type(template, "AWS::DynamoDB::Table").values()
    }
    entries = {table.suffix: table for service in SERVICES for table in service.tables}
    assert set(tables) == set(entries) >= {CARTS.suffix, SESSIONS.suffix}
    for suffix, table in tables.items():
        entry = entries[suffix]
        assert table["KeySchema"] == [{"AttributeName": entry.hash_key, "KeyType": "HASH"}]
        assert table["TimeToLiveSpecification"] == {
            "AttributeName": entry.ttl_attribute,
            "Enabled": True,
        }
        assert table["BillingMode"] == "PAY_PER_REQUEST"
        assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
        separator, parts = table["TableName"]["Fn::Join"]
        rendered = separator.join("staging" if ref(p) == "Environment" else p for p in parts)
        assert rendered == entry.name("staging")
        indexes = table.get("GlobalSecondaryIndexes", [])
        assert [i["IndexName"] for i in indexes] == ([entry.index_name] if entry.index else [])
        for index in indexes:
            assert index["KeySchema"] == [{"AttributeName": entry.index, "KeyType": "HASH"}]
            assert index["Projection"] == {"ProjectionType": "KEYS_ONLY"}


def test_only_the_tables_owner_reaches_it(template: Template) -> None:
    for service in SERVICES:
        role = props(template["Resources"][f"{service.name.capitalize()}Role"])
        policy = json.dumps(role["Policies"])
        for table in (t for s in SERVICES for t in s.tables):
            title = f"{table.suffix.capitalize()}Table"
            assert (title in policy) == (table in service.tables), (service.name, title)
        # Queries only of an index: a Scan or a Query of the whole table never.
        assert "dynamodb:Scan" not in policy
        assert ("dynamodb:Query" in policy) == any(t.index for t in service.tables)


def test_discontinued_models_go_to_glacier(template: Template) -> None:
    rules = props(template["Resources"]["ModelsBucket"])["LifecycleConfiguration"]["Rules"]
    glacier = [r for r in rules if r.get("Transitions")]
    assert glacier[0]["TagFilters"] == [{"Key": RETIRED_TAG_KEY, "Value": RETIRED_TAG_VALUE}]
    # Instant Retrieval: CloudFront can still read a retired file when a product is re-listed.
    assert glacier[0]["Transitions"][0]["StorageClass"] == "GLACIER_IR"
    assert any("NoncurrentVersionExpiration" in r for r in rules)
    assert any("AbortIncompleteMultipartUpload" in r for r in rules)


def test_cloudfront_is_the_front_door(template: Template) -> None:
    config = props(template["Resources"]["Distribution"])["DistributionConfig"]
    behaviors = {b["PathPattern"]: b for b in config["CacheBehaviors"]}
    models = behaviors[f"{MODELS_PATH_PREFIX}*"]
    assert models["TargetOriginId"] == "models" and models["Compress"] is True
    # Photos are delivered as model files are: the same origin, cache policy and headers.
    assert behaviors[f"{MEDIA_PATH_PREFIX}*"] == {**models, "PathPattern": f"{MEDIA_PATH_PREFIX}*"}
    assert models["CachePolicyId"] == CACHING_OPTIMIZED
    api = behaviors["/api/*"]
    assert api["TargetOriginId"] == "api"
    assert set(api["AllowedMethods"]) >= {"GET", "POST", "PUT", "PATCH", "DELETE"}
    assert config["DefaultCacheBehavior"]["TargetOriginId"] == "site"
    origins = {o["Id"]: o for o in config["Origins"]}
    assert all("OriginAccessControlId" in origins[o] for o in ("site", "models"))


def test_cloudfront_sends_the_storefront_csp_and_a_strict_one_for_the_api(
    template: Template,
) -> None:
    """The same policies the gateway sends locally (petshore.contract), each replacing what
    the origin may have sent."""
    config = props(template["Resources"]["Distribution"])["DistributionConfig"]
    policies = of_type(template, "AWS::CloudFront::ResponseHeadersPolicy")

    def security_headers(behavior: dict[str, Any]) -> dict[str, Any]:
        policy = policies[str(ref(behavior["ResponseHeadersPolicyId"]))]
        return dict(props(policy)["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"])

    behaviors = {b["PathPattern"]: b for b in config["CacheBehaviors"]}
    site = security_headers(config["DefaultCacheBehavior"])
    api = security_headers(behaviors["/api/*"])
    # The page's own origin, and the models bucket's, where the back office PUTs uploads with
    # the catalog's presigned URLs (signed for that origin: tests/unit/test_upload_origin.py).
    bucket_origin = S3_BUCKET_ORIGIN.format(bucket="${Bucket}", region="${AWS::Region}")
    assert site["ContentSecurityPolicy"] == {
        "ContentSecurityPolicy": {
            "Fn::Sub": [storefront_csp(bucket_origin), {"Bucket": {"Ref": "ModelsBucket"}}]
        },
        "Override": True,
    }
    assert api["ContentSecurityPolicy"] == {"ContentSecurityPolicy": API_CSP, "Override": True}
    for headers in (site, api):
        assert headers["ContentTypeOptions"] == {"Override": True}
        assert headers["FrameOptions"] == {"FrameOption": "DENY", "Override": True}
        assert headers["ReferrerPolicy"] == {"ReferrerPolicy": REFERRER_POLICY, "Override": True}
        assert headers["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000


def test_every_bucket_is_private_encrypted_and_tls_only(template: Template) -> None:
    buckets = of_type(template, "AWS::S3::Bucket")
    policies = {
        ref(props(p)["Bucket"]): props(p)
        for p in of_type(template, "AWS::S3::BucketPolicy").values()
    }
    for name, bucket in buckets.items():
        p = props(bucket)
        assert all(p["PublicAccessBlockConfiguration"].values())
        assert p["BucketEncryption"]
        denies = [s for s in policies[name]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
        assert denies[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_every_parameter_has_a_default_and_a_description(template: Template) -> None:
    for name, parameter in template["Parameters"].items():
        assert "Default" in parameter, name
        assert len(parameter.get("Description", "")) > 20, name


def test_everything_taggable_carries_the_environment(template: Template) -> None:
    for name, resource in template["Resources"].items():
        tags = props(resource).get("Tags")
        if isinstance(tags, list):
            assert {"Key": "Environment", "Value": {"Ref": "Environment"}} in [
                {k: v for k, v in t.items() if k != "PropagateAtLaunch"} for t in tags
            ], name


def test_instances_get_exactly_the_variables_the_code_reads(template: Template) -> None:
    known = {v for k, v in vars(Env).items() if not k.startswith("_")}
    for service in SERVICES:
        user_data = json.dumps(
            props(template["Resources"][f"{service.name.capitalize()}LaunchTemplate"])
        )
        written = set(re.findall(r"\\n(PETSHORE_[A-Z_]+|AWS_[A-Z_]+)=", user_data))
        assert written, service.name
        assert written <= known, written - known
        assert (Env.DB_SECRET_ARN in written) == bool(service.database)
        assert (Env.MODELS_BUCKET in written) == (service.name == "catalog")
        for table in (t for s in SERVICES for t in s.tables):
            assert (table.variable in written) == (table in service.tables)
        for peer in SERVICES:
            assert (peer.url_variable in written) == (peer.name in service.calls)
        assert written >= {Env.PROXIES_COUNT, Env.PORT, Env.ENVIRONMENT}
        assert (Env.STRIPE_SECRET_ARN in written) == service.payments
        assert (Env.PAYMENT_PROVIDER in written) == service.payments
        assert (Env.MODEL_JOBS_QUEUE_URL in written) == (service.name == "catalog")
        assert (Env.MODEL_RESULTS_QUEUE_URL in written) == (service.name == "catalog")
        assert Env.POSTER_CHROMIUM not in written, "the catalog no longer renders posters"
    user_data = json.dumps(props(template["Resources"][f"{WORKER_TITLE}LaunchTemplate"]))
    written = set(re.findall(r"\\n(PETSHORE_[A-Z_]+|AWS_[A-Z_]+)=", user_data))
    assert written == {
        Env.ENVIRONMENT,
        Env.AWS_REGION,
        Env.MODELS_BUCKET,
        Env.MODEL_JOBS_QUEUE_URL,
        Env.MODEL_RESULTS_QUEUE_URL,
        Env.POSTER_CHROMIUM,
        Env.MODEL_PIPELINE_WORKERS,
        Env.STACK_NAME,
        Env.SIGNAL_RESOURCE,
    }


def test_the_render_matches_the_reviewed_golden_copy(template: Template) -> None:
    """A change to the stack shows up as a diff of tests/infra/golden/petshore.json in review
    (`make golden` rewrites it after an intended change)."""
    golden = json.loads((Path(__file__).parent / "golden" / "petshore.json").read_text())
    assert template == golden


PSEUDO_PARAMETERS = {
    "AWS::Partition": "aws",
    "AWS::Region": "eu-west-1",
    "AWS::AccountId": "123456789012",
}


def resolved(node: Any, stack: str) -> str:
    """A name or ARN the template builds with Fn::Sub, as it is in a stack named `stack`."""
    if isinstance(node, str):
        return node
    sub = node["Fn::Sub"]
    text, variables = (sub, {}) if isinstance(sub, str) else sub
    values = {
        **PSEUDO_PARAMETERS,
        "AWS::StackName": stack,
        **{name: resolved(value, stack) for name, value in variables.items()},
    }
    return re.sub(r"\$\{([^}]+)\}", lambda m: values[m.group(1)], text)


def test_retained_data_stays_readable_with_its_key(template: Template) -> None:
    key = template["Resources"]["DataKey"]
    assert key["DeletionPolicy"] == key["UpdateReplacePolicy"] == "Retain"
    for title in ("CartsTable", "SessionsTable"):
        assert template["Resources"][title]["DeletionPolicy"] == "Retain"
    assert template["Resources"]["Database"]["DeletionPolicy"] == "Snapshot"
    logs = next(
        s for s in props(key)["KeyPolicy"]["Statement"] if s["Sid"] == "LogsEncryptThisStacksGroups"
    )
    (allowed,) = logs["Condition"]["ArnLike"].values()
    groups = of_type(template, "AWS::Logs::LogGroup")
    assert groups

    def arns(stack: str) -> list[str]:
        return [
            f"arn:aws:logs:eu-west-1:123456789012:log-group:"
            f"{resolved(props(g)['LogGroupName'], stack)}"
            for g in groups.values()
        ]

    patterns = [resolved(p, "shop") for p in allowed]
    for arn in arns("shop"):
        assert any(fnmatchcase(arn, p) for p in patterns), arn
    # A stack whose name starts with this one's keeps its logs from this key.
    for arn in arns("shop-staging") + arns("shop2"):
        assert not any(fnmatchcase(arn, p) for p in patterns), arn
    for name, group in groups.items():
        assert "KmsKeyId" in props(group), name


def test_every_log_group_expires_and_old_site_versions_go(template: Template) -> None:
    groups = of_type(template, "AWS::Logs::LogGroup")
    assert all(props(g)["RetentionInDays"] > 0 for g in groups.values())
    database = props(template["Resources"]["Database"])
    # The database's exports' groups, which it must find made, or RDS makes them for ever.
    exported = {
        n for n, g in groups.items() if "/aws/rds/instance/" in json.dumps(props(g)["LogGroupName"])
    }
    assert len(exported) == len(database["EnableCloudwatchLogsExports"])
    assert set(template["Resources"]["Database"]["DependsOn"]) == exported
    site = props(template["Resources"]["SiteBucket"])["LifecycleConfiguration"]["Rules"]
    assert any("NoncurrentVersionExpiration" in rule for rule in site)


def test_each_function_writes_its_own_log_group_and_hides_its_settings(
    template: Template,
) -> None:
    """The stack's functions come from one helper (templates/functions.py): each logs to a
    group of its own that only its role writes, and any environment is under the data key."""
    functions = of_type(template, "AWS::Lambda::Function")
    assert set(functions) == {"LookupFunction", "OriginRotationFunction", "DatabaseLoginsFunction"}
    for name, function in functions.items():
        title = name.removesuffix("Function")
        settings = props(function)
        assert ref(settings["LoggingConfig"]["LogGroup"]) == f"{title}LogGroup"
        assert get_att(settings["Role"]) == f"{title}Role"
        writes = {
            get_att(resource)
            for statement in statements_of(template, title)
            if "logs:PutLogEvents" in statement["Action"]
            for resource in statement["Resource"]
        }
        assert writes == {f"{title}LogGroup"}
        assert ("Environment" in settings) == ("KmsKeyArn" in settings), name
        assert settings["ReservedConcurrentExecutions"] >= 1


def test_the_database_has_its_settings_windows_and_growth_from_the_start(
    template: Template,
) -> None:
    database = props(template["Resources"]["Database"])
    settings = props(template["Resources"][database["DBParameterGroupName"]["Ref"]])
    assert settings["Family"].startswith("postgres" + database["EngineVersion"].split(".")[0])
    assert int(settings["Parameters"]["statement_timeout"]) > 0
    assert int(settings["Parameters"]["log_min_duration_statement"]) > 0
    assert database["PreferredBackupWindow"] == {"Ref": "DatabaseBackupWindow"}
    assert database["PreferredMaintenanceWindow"] == {"Ref": "DatabaseMaintenanceWindow"}
    assert database["MaxAllocatedStorage"] == {"Ref": "DatabaseMaxStorageGiB"}


def test_only_the_services_that_mail_may_send_and_only_as_the_shop(template: Template) -> None:
    for service in SERVICES:
        role = props(template["Resources"][f"{service.name.capitalize()}Role"])
        statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
        mail = [s for s in statements if "ses:SendEmail" in json.dumps(s["Action"])]
        assert bool(mail) == service.mail, service.name
        for statement in mail:
            condition = statement["Condition"]["StringEquals"]["ses:FromAddress"]
            assert ref(condition) == "MailSender"
        user_data = json.dumps(
            props(template["Resources"][f"{service.name.capitalize()}LaunchTemplate"])
        )
        assert (Env.MAIL_SENDER in user_data) == service.mail


def test_the_edge_limits_api_calls_and_sign_ins_per_address_and_logs_no_secret(
    template: Template,
) -> None:
    acl = props(template["Resources"]["WebAcl"])
    rates = {
        r["Name"]: r["Statement"]["RateBasedStatement"]
        for r in acl["Rules"]
        if "RateBasedStatement" in r["Statement"]
    }
    api = rates["RateLimitApiPerIp"]["ScopeDownStatement"]["ByteMatchStatement"]
    # Model files, photos and the site's files are not counted: only API calls.
    assert (api["SearchString"], api["PositionalConstraint"]) == ("/api/", "STARTS_WITH")
    sign_in = rates["RateLimitSignInPerIp"]
    assert sign_in["Limit"] < rates["RateLimitApiPerIp"]["Limit"]
    matches = [
        s["ByteMatchStatement"] for s in sign_in["ScopeDownStatement"]["AndStatement"]["Statements"]
    ]
    assert {m["SearchString"] for m in matches} == {SESSIONS_PATH, "POST"}
    logging = props(template["Resources"]["WebAclLogging"])
    redacted = {f["SingleHeader"]["Name"] for f in logging["RedactedFields"]}
    assert redacted == {"cookie", "authorization", "x-csrf-token"}
    group = props(template["Resources"]["WebAclLogGroup"])
    assert group["LogGroupName"]["Fn::Sub"].startswith("aws-waf-logs-")
    assert group["RetentionInDays"] > 0


def commercial_regions() -> list[str]:
    """cfn-lint's regions but China's, GovCloud's and the isolated and sovereign ones."""
    return [
        r for r in REGIONS if not r.startswith(("cn-", "us-gov-", "us-iso", "eu-isoe-", "eusc-"))
    ]


def find_in_maps(node: Any) -> list[list[Any]]:
    if isinstance(node, dict):
        found = [node["Fn::FindInMap"]] if "Fn::FindInMap" in node else []
        return found + [f for value in node.values() for f in find_in_maps(value)]
    if isinstance(node, list):
        return [f for item in node for f in find_in_maps(item)]
    return []


def test_every_commercial_region_can_create_the_stack(template: Template, rendered: Path) -> None:
    regions = commercial_regions()
    assert {"us-east-1", "ap-south-1", "sa-east-1", "mx-central-1"} <= set(regions)
    # A table keyed by region fails to create the stack in each region it lacks.
    for mapping, key, *_ in find_in_maps(template["Resources"]):
        if key == {"Ref": "AWS::Region"}:
            assert set(regions) <= set(template["Mappings"][mapping]), mapping
    # ALB access logs: the log delivery service principal, which every region has.
    (policy,) = (
        props(p)["PolicyDocument"]["Statement"]
        for p in of_type(template, "AWS::S3::BucketPolicy").values()
        if ref(props(p)["Bucket"]) == "LogsBucket"
    )
    (alb,) = [s for s in policy if s["Sid"] == "AlbAccessLogs"]
    assert alb["Principal"] == {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}
    # CloudFront's origin-facing prefix list is looked up in the region the stack is in.
    (from_cloudfront,) = (
        props(r)
        for r in of_type(template, "AWS::EC2::SecurityGroupIngress").values()
        if "SourcePrefixListId" in props(r)
    )
    lookup = from_cloudfront["SourcePrefixListId"]["Fn::GetAtt"]
    assert props(template["Resources"][lookup[0]])["PrefixListName"] == (
        "com.amazonaws.global.cloudfront.origin-facing"
    )
    # Every resource type and property is available in each of them.
    linted = subprocess.run(
        [str(BIN / "cfn-lint"), "--regions", *regions, "--", str(rendered)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert linted.returncode == 0, linted.stdout + linted.stderr


PUBLIC_LISTENER = {
    "Fn::If": ["HasCertificate", {"Ref": "PublicHttpsListener"}, {"Ref": "PublicHttpListener"}]
}


def test_only_this_stacks_cloudfront_reaches_the_public_alb(template: Template) -> None:
    resources = template["Resources"]
    config = props(resources["Distribution"])["DistributionConfig"]
    (api,) = (o for o in config["Origins"] if o["Id"] == "api")
    (header,) = api["OriginCustomHeaders"]
    secret = header["HeaderValue"]["Fn::Sub"]
    # The value is the secret's, resolved when the stack is deployed, never written here.
    assert secret[0].startswith("{{resolve:secretsmanager:") and references(secret) == {
        "OriginSecret"
    }
    assert resources["OriginSecret"]["Type"] == "AWS::SecretsManager::Secret"
    rules = of_type(template, "AWS::ElasticLoadBalancingV2::ListenerRule")
    public = {n for n, r in rules.items() if props(r)["ListenerArn"] == PUBLIC_LISTENER}
    assert len(public) == len(SERVICES) + 1  # each service's, and the 404 for other paths
    for name, rule in rules.items():
        checks = [c for c in props(rule)["Conditions"] if c["Field"] == "http-header"]
        expected = [
            {
                "Field": "http-header",
                "HttpHeaderConfig": {
                    "HttpHeaderName": header["HeaderName"],
                    "Values": [header["HeaderValue"]],
                },
            }
        ]
        assert checks == (expected if name in public else []), name
    # Anything else is refused: another distribution, or the ALB's own name.
    https = props(resources["PublicHttpsListener"])["DefaultActions"]
    assert [a["FixedResponseConfig"]["StatusCode"] for a in https] == ["403"]
    (http,) = props(resources["PublicHttpListener"])["DefaultActions"]
    condition, with_certificate, without = http["Fn::If"]
    assert (condition, with_certificate["Type"]) == ("HasCertificate", "redirect")
    assert without["FixedResponseConfig"]["StatusCode"] == "403"
    # No instance reads the secret: the rotation function alone may, and rotates it.
    readers = {
        n for n, r in of_type(template, "AWS::IAM::Role").items() if "OriginSecret" in json.dumps(r)
    }
    assert readers == {"OriginRotationRole"}
    (schedule,) = (
        props(s)
        for s in of_type(template, "AWS::SecretsManager::RotationSchedule").values()
        if ref(props(s)["SecretId"]) == "OriginSecret"
    )
    assert get_att(schedule["RotationLambdaARN"]) == "OriginRotationFunction"
    assert schedule["RotationRules"]["ScheduleExpression"].startswith("rate(")
    function = props(resources["OriginRotationFunction"])
    variables = function["Environment"]["Variables"]
    assert {ref(r) for r in variables["RULES"]["Fn::Join"][1]} == public
    assert ref(variables["DISTRIBUTION"]) == "Distribution"
    assert variables["HEADER"] == header["HeaderName"]
    assert {
        ref(r) for r in granted(template, "OriginRotation", "elasticloadbalancing:ModifyRule")
    } == public
    (distribution,) = granted(template, "OriginRotation", "cloudfront:UpdateDistribution")
    arn, variables = distribution["Fn::Sub"]
    assert arn.endswith(":distribution/${Id}") and variables == {"Id": {"Ref": "Distribution"}}


def test_cloudfront_speaks_https_to_the_alb_when_a_certificate_is_given(
    template: Template,
) -> None:
    config = props(template["Resources"]["Distribution"])["DistributionConfig"]
    (api,) = (o for o in config["Origins"] if o["Id"] == "api")
    assert api["CustomOriginConfig"]["OriginProtocolPolicy"] == {
        "Fn::If": ["HasCertificate", "https-only", "http-only"]
    }
    assert api["CustomOriginConfig"]["OriginSSLProtocols"] == ["TLSv1.2"]
    # The name the certificate covers, an alias of the ALB.
    assert api["DomainName"]["Fn::If"][1] == {
        "Fn::Sub": ["origin.${Domain}", {"Domain": {"Ref": "DomainName"}}]
    }
    (from_cloudfront,) = (
        props(r)
        for r in of_type(template, "AWS::EC2::SecurityGroupIngress").values()
        if "SourcePrefixListId" in props(r)
    )
    assert from_cloudfront["FromPort"] == {"Fn::If": ["HasCertificate", 443, 80]}
    https = props(template["Resources"]["PublicHttpsListener"])
    assert https["Protocol"] == "HTTPS" and https["SslPolicy"].startswith("ELBSecurityPolicy-TLS13")


def test_the_web_acl_is_made_where_cloudfront_allows_or_the_stack_refuses(
    template: Template, tmp_path: Path
) -> None:
    """CloudFront's web ACLs can only be made in us-east-1: a stack elsewhere is given one
    made there (dist/petshore-web-acl.json, the same rules), or told why it cannot start."""
    assert template["Conditions"]["CreateWebAcl"] == {
        "Fn::And": [
            {"Fn::Equals": [{"Ref": "EnableWaf"}, "true"]},
            {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]},
            {"Fn::Not": [{"Condition": "HasWebAclArn"}]},
        ]
    }
    rule = template["Rules"]["WebAclNeedsItsRegion"]
    enabled, elsewhere = rule["RuleCondition"]["Fn::And"]
    assert enabled == {"Fn::Equals": [{"Ref": "EnableWaf"}, "true"]}
    assert elsewhere == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]}]}
    (assertion,) = rule["Assertions"]
    assert assertion["Assert"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "WebAclArn"}, ""]}]}
    assert "WebAclArn" in assertion["AssertDescription"]
    config = props(template["Resources"]["Distribution"])["DistributionConfig"]
    assert config["WebACLId"] == {
        "Fn::If": [
            "HasWebAclArn",
            {"Ref": "WebAclArn"},
            {
                "Fn::If": [
                    "CreateWebAcl",
                    {"Fn::GetAtt": ["WebAcl", "Arn"]},
                    {"Ref": "AWS::NoValue"},
                ]
            },
        ]
    }
    alone = json.loads(build_web_acl_template().to_json())
    for field in ("Scope", "DefaultAction", "Rules"):
        assert (
            props(alone["Resources"]["WebAcl"])[field]
            == (props(template["Resources"]["WebAcl"])[field])
        )
    assert props(alone["Resources"]["WebAclLogging"]) == props(
        template["Resources"]["WebAclLogging"]
    )
    assert props(alone["Resources"]["WebAclLogGroup"])["RetentionInDays"] > 0
    (only,) = alone["Rules"].values()
    assert only["Assertions"][0]["Assert"] == {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]}
    assert get_att(alone["Outputs"]["WebAclArn"]["Value"]) == "WebAcl"
    path = tmp_path / "petshore-web-acl.json"
    path.write_text(json.dumps(alone))
    linted = subprocess.run(
        [str(BIN / "cfn-lint"), str(path)], capture_output=True, text=True, timeout=300
    )
    assert linted.returncode == 0, linted.stdout + linted.stderr


MASTER_SECRET = {"Fn::GetAtt": ["Database", "MasterUserSecret.SecretArn"]}


def secrets_read(template: Template) -> dict[str, set[str]]:
    """Each role that may read a secret's value, and which: by logical id, `master` for the
    database's master login."""
    read: dict[str, set[str]] = {}
    for name, role in of_type(template, "AWS::IAM::Role").items():
        for policy in props(role).get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                if "secretsmanager:GetSecretValue" in statement["Action"]:
                    read.setdefault(name, set()).update(
                        "master" if r == MASTER_SECRET else str(ref(r))
                        for r in statement["Resource"]
                    )
    return read


def test_each_role_reads_only_its_own_secrets_and_only_one_the_master_login(
    template: Template,
) -> None:
    logins = {f"{s.name.capitalize()}DatabaseSecret" for s in SERVICES if s.database}
    expected = {
        f"{s.name.capitalize()}Role": (
            ({"AdminTokenSecret"} if s.admin else set())
            | ({"PaymentSecret"} if s.payments else set())
            | ({f"{s.name.capitalize()}DatabaseSecret"} if s.database else set())
        )
        for s in SERVICES
    }
    expected = {role: read for role, read in expected.items() if read}
    expected["DatabaseLoginsRole"] = logins | {"master"}
    expected["OriginRotationRole"] = {"OriginSecret"}
    assert secrets_read(template) == expected
    # Nothing on an instance names the master login.
    for launch in of_type(template, "AWS::EC2::LaunchTemplate").values():
        assert "MasterUserSecret" not in json.dumps(launch)


def test_the_logins_are_made_before_the_services_boot_and_rotate_on_a_schedule(
    template: Template,
) -> None:
    resources = template["Resources"]
    logins = {f"{s.name.capitalize()}DatabaseSecret" for s in SERVICES if s.database}
    made = props(resources["DatabaseLogins"])
    assert get_att(made["ServiceToken"]) == "DatabaseLoginsFunction"
    assert {ref(arn) for arn in made["LoginSecretArns"]} == logins
    # It reaches Secrets Manager through the NAT and the database through its own rules.
    after = set(resources["DatabaseLogins"]["DependsOn"])
    assert {"PrivateDefaultRoute1", "PrivateDefaultRoute2"} <= after
    assert {n for n in after if n.startswith("DatabaseLoginsSecurityGroupToDatabase")} == {
        "DatabaseLoginsSecurityGroupToDatabaseIngress",
        "DatabaseLoginsSecurityGroupToDatabaseEgress",
    }
    for service in SERVICES:
        group = resources[f"{service.name.capitalize()}AutoScalingGroup"]
        assert ("DatabaseLogins" in group.get("DependsOn", [])) == bool(service.database)
    function = props(resources["DatabaseLoginsFunction"])
    assert [ref(s) for s in function["VpcConfig"]["SubnetIds"]] == [
        "PrivateSubnet1",
        "PrivateSubnet2",
    ]
    assert function["Environment"]["Variables"]["MASTER_SECRET_ARN"] == MASTER_SECRET
    # The zip build.py makes, from the artifact's bucket; with the placeholder artifact (no
    # service runs, so no login to make) a stand-in that answers CloudFormation.
    condition, code, placeholder = function["Code"]["Fn::If"]
    assert condition == HAS_ARTIFACT
    assert ref(code["S3Bucket"]) == "ArtifactBucket"
    assert code["S3Key"] == database_logins_zip().key
    assert "cfnresponse.SUCCESS" in placeholder["ZipFile"]
    assert function["Handler"]["Fn::If"] == [HAS_ARTIFACT, HANDLER, "index.handler"]
    # New code runs the set-up again.
    assert made["Code"]["Fn::If"][:2] == [HAS_ARTIFACT, database_logins_zip().key]
    schedules = {
        ref(props(s)["SecretId"]): props(s)
        for s in of_type(template, "AWS::SecretsManager::RotationSchedule").values()
    }
    assert set(schedules) == logins | {"OriginSecret"}
    for login in logins:
        assert get_att(schedules[login]["RotationLambdaARN"]) == "DatabaseLoginsFunction"
        assert schedules[login]["RotationRules"]["ScheduleExpression"].startswith("rate(")
    permissions = [
        props(p)
        for p in of_type(template, "AWS::Lambda::Permission").values()
        if get_att(props(p)["FunctionName"]) == "DatabaseLoginsFunction"
    ]
    assert {ref(p["SourceArn"]) for p in permissions} == logins
    assert {p["Principal"] for p in permissions} == {"secretsmanager.amazonaws.com"}
