"""The Auto Scaling groups: one per service of the routing table (`add_service`: target
groups with the contract's health check, listener rules, target tracking at 70% CPU and on
requests per instance, a launch floor on a schedule) and the model worker's (`add_worker`:
no load balancer, target tracking on the jobs waiting per instance). Both share what their
instances are (launch template: IMDSv2 only, encrypted disk, no SSH key; an instance role
with only what that process needs; a log group) and how they are released (each new
instance signals once it works, or the update rolls back)."""

from __future__ import annotations

from dataclasses import dataclass

from awacs.aws import Statement
from troposphere import GetAtt, If, Join, NoValue, Parameter, Ref, Tags, Template, ec2, kms, sqs
from troposphere import autoscaling as asg
from troposphere import elasticloadbalancingv2 as elb
from troposphere import logs as cwlogs
from troposphere.policies import (
    AutoScalingRollingUpdate,
    AutoScalingScheduledAction,
    CreationPolicy,
    ResourceSignal,
    UpdatePolicy,
)

from petshore.contract import (
    HEALTH_INTERVAL_SECONDS,
    HEALTH_TIMEOUT_SECONDS,
    HEALTHY_THRESHOLD,
    UNHEALTHY_THRESHOLD,
    Env,
    Service,
    Worker,
)
from templates.capacity import (
    INSTANCE_WARMUP_SECONDS,
    JOBS_WAITING_PER_INSTANCE,
    SIGNAL_TIMEOUT,
    requests_per_target_per_minute,
)
from templates.iam import (
    add_instance_role,
    read_artifact,
    signal_stack,
    use_data_key,
    write_logs,
)
from templates.loadbalancing import LoadBalancers
from templates.network import Network
from templates.origin import from_cloudfront
from templates.parameters import (
    HAS_ARTIFACT,
    HAS_LAUNCH,
    SMALL,
    SMALL_INSTANCES,
    WORKER_TITLE,
    Params,
    ServiceCapacity,
)
from templates.security import stack_log_group
from templates.userdata import user_data

TARGET_CPU_PERCENT = 70.0
LOG_RETENTION_DAYS = 30
ROOT_VOLUME_GIB = 20


@dataclass(frozen=True)
class ServiceResources:
    group: asg.AutoScalingGroup
    target_group: elb.TargetGroup
    public_rule: elb.ListenerRule
    internal_target_group: elb.TargetGroup | None
    log_group: cwlogs.LogGroup


@dataclass(frozen=True)
class WorkerResources:
    group: asg.AutoScalingGroup
    log_group: cwlogs.LogGroup


def path_patterns(service: Service) -> list[str]:
    """`/api/catalog` itself as well as everything under it."""
    return [service.path_prefix.rstrip("/"), f"{service.path_prefix}*"]


def _target_group(t: Template, title: str, service: Service, network: Network) -> elb.TargetGroup:
    return t.add_resource(
        elb.TargetGroup(
            title,
            VpcId=Ref(network.vpc),
            Port=service.port,
            Protocol="HTTP",
            TargetType="instance",
            HealthCheckPath=service.health_path,
            HealthCheckIntervalSeconds=HEALTH_INTERVAL_SECONDS,
            HealthCheckTimeoutSeconds=HEALTH_TIMEOUT_SECONDS,
            HealthyThresholdCount=HEALTHY_THRESHOLD,
            UnhealthyThresholdCount=UNHEALTHY_THRESHOLD,
            Matcher=elb.Matcher(HttpCode="200"),
            TargetGroupAttributes=[
                elb.TargetGroupAttribute(Key="deregistration_delay.timeout_seconds", Value="30"),
            ],
        )
    )


def _rule(
    t: Template,
    title: str,
    listener: object,
    priority: int,
    service: Service,
    target: elb.TargetGroup,
    *also: elb.Condition,
) -> elb.ListenerRule:
    """Forward the service's paths to `target`, when `also` hold too."""
    return t.add_resource(
        elb.ListenerRule(
            title,
            ListenerArn=listener,
            Priority=priority,
            Conditions=[
                elb.Condition(
                    Field="path-pattern",
                    PathPatternConfig=elb.PathPatternConfig(Values=path_patterns(service)),
                ),
                *also,
            ],
            Actions=[elb.ListenerRuleAction(Type="forward", TargetGroupArn=Ref(target))],
        )
    )


def _instances(
    t: Template,
    title: str,
    name: str,
    *,
    params: Params,
    instance_type: Parameter,
    security_group: ec2.SecurityGroup,
    statements: list[Statement],
    environment: dict[str, object],
    key: kms.Key,
    image: object,
) -> tuple[ec2.LaunchTemplate, cwlogs.LogGroup]:
    """What a group's instances are: their role (only `statements` besides reading the
    artifact, writing their log, using the data key and signalling), their log group, and
    their launch template, whose boot installs and starts `name` from the artifact."""
    # Each new instance tells CloudFormation once it works (deploy/boot.sh).
    environment = {
        **environment,
        Env.STACK_NAME: Ref("AWS::StackName"),
        Env.SIGNAL_RESOURCE: f"{title}AutoScalingGroup",
    }
    log_group = t.add_resource(
        cwlogs.LogGroup(
            f"{title}LogGroup",
            LogGroupName=stack_log_group(name),
            RetentionInDays=LOG_RETENTION_DAYS,
            KmsKeyId=GetAtt(key, "Arn"),
        )
    )
    _, profile = add_instance_role(
        t,
        title,
        [
            read_artifact(params),
            *write_logs(log_group),
            *use_data_key(key),
            *signal_stack(),
            *statements,
        ],
    )
    template = t.add_resource(
        ec2.LaunchTemplate(
            f"{title}LaunchTemplate",
            LaunchTemplateData=ec2.LaunchTemplateData(
                ImageId=image,
                InstanceType=Ref(instance_type),
                IamInstanceProfile=ec2.IamInstanceProfile(Arn=GetAtt(profile, "Arn")),
                SecurityGroupIds=[Ref(security_group)],
                MetadataOptions=ec2.MetadataOptions(
                    HttpTokens="required", HttpEndpoint="enabled", HttpPutResponseHopLimit=1
                ),
                BlockDeviceMappings=[
                    ec2.LaunchTemplateBlockDeviceMapping(
                        DeviceName="/dev/xvda",
                        Ebs=ec2.EBSBlockDevice(
                            VolumeSize=ROOT_VOLUME_GIB,
                            VolumeType="gp3",
                            Encrypted=True,
                            DeleteOnTermination=True,
                        ),
                    )
                ],
                Monitoring=ec2.Monitoring(Enabled=True),
                UserData=user_data(
                    name,
                    environment,
                    {
                        "ArtifactBucket": Ref(params.artifact_bucket),
                        "ArtifactKey": Ref(params.artifact_key),
                        "LogGroup": Ref(log_group),
                    },
                ),
                TagSpecifications=[
                    ec2.TagSpecifications(
                        ResourceType=kind,
                        Tags=Tags(Environment=Ref(params.environment), Service=name),
                    )
                    for kind in ("instance", "volume")
                ],
            ),
        )
    )
    return template, log_group


def _group(
    t: Template,
    title: str,
    name: str,
    template: ec2.LaunchTemplate,
    *,
    params: Params,
    network: Network,
    capacity: ServiceCapacity,
    target_groups: list[elb.TargetGroup],
    after: list[str],
) -> tuple[asg.AutoScalingGroup, If]:
    """The Auto Scaling group of `template`'s instances across the private subnets, and its
    minimum. With target groups their health check replaces instances, else EC2's does.
    A release replaces one instance at a time and waits for each new one's signal."""
    minimum = If(SMALL, SMALL_INSTANCES, Ref(capacity.minimum))
    group = t.add_resource(
        asg.AutoScalingGroup(
            f"{title}AutoScalingGroup",
            **({"DependsOn": after} if after else {}),
            LaunchTemplate=asg.LaunchTemplateSpecification(
                LaunchTemplateId=Ref(template),
                Version=GetAtt(template, "LatestVersionNumber"),
            ),
            VPCZoneIdentifier=[Ref(s) for s in network.private_subnets],
            MinSize=minimum,
            MaxSize=Ref(capacity.maximum),
            HealthCheckType="ELB" if target_groups else "EC2",
            HealthCheckGracePeriod=INSTANCE_WARMUP_SECONDS,
            # Until an instance has booted and warmed up, its CPU and requests do not count
            # towards the scaling metrics (without this, the 300 s cooldown applies).
            DefaultInstanceWarmup=INSTANCE_WARMUP_SECONDS,
            TargetGroupARNs=[Ref(g) for g in target_groups] or NoValue,
            MetricsCollection=[asg.MetricsCollection(Granularity="1Minute")],
            Tags=asg.Tags(Environment=Ref(params.environment), Service=name),
            CreationPolicy=CreationPolicy(
                ResourceSignal=ResourceSignal(
                    Count=If(HAS_ARTIFACT, minimum, 0), Timeout=SIGNAL_TIMEOUT
                )
            ),
            UpdatePolicy=UpdatePolicy(
                # One new instance at a time, the old ones working until it has signalled
                # that it works; no signal within the timeout, or a failure, rolls back.
                AutoScalingRollingUpdate=AutoScalingRollingUpdate(
                    MinInstancesInService=minimum,
                    MaxBatchSize=1,
                    WaitOnResourceSignals=If(HAS_ARTIFACT, True, False),
                    PauseTime=SIGNAL_TIMEOUT,
                    SuspendProcesses=[
                        "HealthCheck",
                        "ReplaceUnhealthy",
                        "AZRebalance",
                        "AlarmNotification",
                        "ScheduledActions",
                    ],
                ),
                # A group scaled out (or held up by the launch floor) keeps its size.
                AutoScalingScheduledAction=AutoScalingScheduledAction(
                    IgnoreUnmodifiedGroupSizeProperties=True
                ),
            ),
        )
    )
    return group, minimum


def add_service(
    t: Template,
    *,
    service: Service,
    priority: int,
    params: Params,
    network: Network,
    balancers: LoadBalancers,
    security_group: ec2.SecurityGroup,
    internal: bool,
    statements: list[Statement],
    environment: dict[str, object],
    key: kms.Key,
    image: object,
    after: list[str],
) -> ServiceResources:
    title = service.name.capitalize()
    template, log_group = _instances(
        t,
        title,
        service.name,
        params=params,
        instance_type=params.instance_type,
        security_group=security_group,
        statements=statements,
        environment=environment,
        key=key,
        image=image,
    )
    target_group = _target_group(t, f"{title}TargetGroup", service, network)
    public_rule = _rule(
        t,
        f"{title}ListenerRule",
        balancers.public_listener,
        priority,
        service,
        target_group,
        from_cloudfront(balancers.origin_secret),
    )
    internal_group = None
    if internal:
        internal_group = _target_group(t, f"{title}InternalTargetGroup", service, network)
        _rule(
            t,
            f"{title}InternalListenerRule",
            Ref(balancers.internal_listener),
            priority,
            service,
            internal_group,
        )
    group, minimum = _group(
        t,
        title,
        service.name,
        template,
        params=params,
        network=network,
        capacity=params.capacity[service.name],
        target_groups=[g for g in (target_group, internal_group) if g is not None],
        after=after,
    )
    t.add_resource(
        asg.ScalingPolicy(
            f"{title}CpuTargetTracking",
            AutoScalingGroupName=Ref(group),
            PolicyType="TargetTrackingScaling",
            TargetTrackingConfiguration=asg.TargetTrackingConfiguration(
                PredefinedMetricSpecification=asg.PredefinedMetricSpecification(
                    PredefinedMetricType="ASGAverageCPUUtilization"
                ),
                TargetValue=TARGET_CPU_PERCENT,
            ),
        )
    )
    # Requests per instance react before CPU averages over a minute do, and hold for I/O-bound
    # services whose CPU stays low while their latency climbs.
    t.add_resource(
        asg.ScalingPolicy(
            f"{title}RequestsTargetTracking",
            AutoScalingGroupName=Ref(group),
            PolicyType="TargetTrackingScaling",
            TargetTrackingConfiguration=asg.TargetTrackingConfiguration(
                PredefinedMetricSpecification=asg.PredefinedMetricSpecification(
                    PredefinedMetricType="ALBRequestCountPerTarget",
                    ResourceLabel=Join(
                        "/",
                        [
                            GetAtt(balancers.public, "LoadBalancerFullName"),
                            GetAtt(target_group, "TargetGroupFullName"),
                        ],
                    ),
                ),
                TargetValue=requests_per_target_per_minute(service.name),
            ),
        )
    )
    _launch_floor(t, title, group, params, minimum)
    return ServiceResources(group, target_group, public_rule, internal_group, log_group)


def add_worker(
    t: Template,
    *,
    worker: Worker,
    params: Params,
    network: Network,
    security_group: ec2.SecurityGroup,
    jobs: sqs.Queue,
    statements: list[Statement],
    environment: dict[str, object],
    key: kms.Key,
    image: object,
) -> WorkerResources:
    """The model worker's group: no load balancer (it serves nothing; EC2's health check
    replaces an instance that stops), scaled on the jobs waiting per instance. It keeps no
    launch floor: shoppers do not upload models."""
    template, log_group = _instances(
        t,
        WORKER_TITLE,
        worker.name,
        params=params,
        instance_type=params.worker_instance_type,
        security_group=security_group,
        statements=statements,
        environment=environment,
        key=key,
        image=image,
    )
    group, _ = _group(
        t,
        WORKER_TITLE,
        worker.name,
        template,
        params=params,
        network=network,
        capacity=params.worker_capacity,
        target_groups=[],
        after=[],
    )
    t.add_resource(
        asg.ScalingPolicy(
            f"{WORKER_TITLE}BacklogTargetTracking",
            AutoScalingGroupName=Ref(group),
            PolicyType="TargetTrackingScaling",
            TargetTrackingConfiguration=asg.TargetTrackingConfiguration(
                CustomizedMetricSpecification=asg.CustomizedMetricSpecification(
                    Metrics=_backlog_per_instance(jobs, group)
                ),
                TargetValue=JOBS_WAITING_PER_INSTANCE,
            ),
        )
    )
    return WorkerResources(group, log_group)


def _backlog_per_instance(
    jobs: sqs.Queue, group: asg.AutoScalingGroup
) -> list[asg.TargetTrackingMetricDataQuery]:
    """Jobs waiting in the queue over the instances taking them (AWS's own recipe)."""

    def metric(
        metric_id: str, namespace: str, name: str, dimension: str, value: object, stat: str
    ) -> asg.TargetTrackingMetricDataQuery:
        return asg.TargetTrackingMetricDataQuery(
            Id=metric_id,
            ReturnData=False,
            MetricStat=asg.TargetTrackingMetricStat(
                Metric=asg.Metric(
                    Namespace=namespace,
                    MetricName=name,
                    Dimensions=[asg.MetricDimension(Name=dimension, Value=value)],
                ),
                Stat=stat,
            ),
        )

    return [
        metric(
            "waiting",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            "QueueName",
            GetAtt(jobs, "QueueName"),
            "Sum",
        ),
        metric(
            "serving",
            "AWS/AutoScaling",
            "GroupInServiceInstances",
            "AutoScalingGroupName",
            Ref(group),
            "Average",
        ),
        asg.TargetTrackingMetricDataQuery(
            Id="backlog",
            Label="jobs waiting per instance",
            Expression="waiting / serving",
            ReturnData=True,
        ),
    ]


def _launch_floor(
    t: Template, title: str, group: asg.AutoScalingGroup, params: Params, minimum: object
) -> None:
    """A launch known in advance: the group holds LaunchMinInstances from LaunchStartTime, as
    booting them under the first wave would be too late, and falls back at LaunchEndTime."""
    for name, start, floor in (
        ("LaunchFloor", params.launch_start, Ref(params.launch_floor)),
        ("LaunchOver", params.launch_end, minimum),
    ):
        t.add_resource(
            asg.ScheduledAction(
                f"{title}{name}",
                Condition=HAS_LAUNCH,
                AutoScalingGroupName=Ref(group),
                StartTime=Ref(start),
                MinSize=floor,
                DesiredCapacity=NoValue,
            )
        )
