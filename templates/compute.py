"""One Auto Scaling group per service of the routing table, built by `add_service`: launch
template (IMDSv2 only, encrypted disk, no SSH key), target groups with the contract's health
check, listener rules, target tracking at 70% CPU and on requests per instance, releases that
keep capacity (each new instance signals once it serves, or the update rolls back), a launch
floor on a schedule, and an instance role with only what that service needs."""

from __future__ import annotations

from dataclasses import dataclass

from awacs.aws import Statement
from troposphere import GetAtt, If, Join, NoValue, Ref, Tags, Template, ec2, kms
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
)
from templates.capacity import (
    INSTANCE_WARMUP_SECONDS,
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
from templates.parameters import HAS_ARTIFACT, HAS_LAUNCH, SMALL, SMALL_INSTANCES, Params
from templates.userdata import user_data

TARGET_CPU_PERCENT = 70.0
LOG_RETENTION_DAYS = 30
ROOT_VOLUME_GIB = 20


@dataclass(frozen=True)
class ServiceResources:
    group: asg.AutoScalingGroup
    target_group: elb.TargetGroup
    internal_target_group: elb.TargetGroup | None
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
) -> None:
    t.add_resource(
        elb.ListenerRule(
            title,
            ListenerArn=listener,
            Priority=priority,
            Conditions=[
                elb.Condition(
                    Field="path-pattern",
                    PathPatternConfig=elb.PathPatternConfig(Values=path_patterns(service)),
                )
            ],
            Actions=[elb.ListenerRuleAction(Type="forward", TargetGroupArn=Ref(target))],
        )
    )


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
) -> ServiceResources:
    title = service.name.capitalize()
    group_title = f"{title}AutoScalingGroup"
    # Each new instance tells CloudFormation once its own health check passes (deploy/boot.sh).
    environment = {
        **environment,
        Env.STACK_NAME: Ref("AWS::StackName"),
        Env.SIGNAL_RESOURCE: group_title,
    }
    log_group = t.add_resource(
        cwlogs.LogGroup(
            f"{title}LogGroup", RetentionInDays=LOG_RETENTION_DAYS, KmsKeyId=GetAtt(key, "Arn")
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
                InstanceType=Ref(params.instance_type_of(service.name)),
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
                    service,
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
                        Tags=Tags(
                            Environment=Ref(params.environment),
                            Service=service.name,
                        ),
                    )
                    for kind in ("instance", "volume")
                ],
            ),
        )
    )
    target_group = _target_group(t, f"{title}TargetGroup", service, network)
    _rule(t, f"{title}ListenerRule", balancers.public_listener, priority, service, target_group)
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
    capacity = params.capacity[service.name]
    minimum = If(SMALL, SMALL_INSTANCES, Ref(capacity.minimum))
    group = t.add_resource(
        asg.AutoScalingGroup(
            group_title,
            LaunchTemplate=asg.LaunchTemplateSpecification(
                LaunchTemplateId=Ref(template),
                Version=GetAtt(template, "LatestVersionNumber"),
            ),
            VPCZoneIdentifier=[Ref(s) for s in network.private_subnets],
            MinSize=minimum,
            MaxSize=Ref(capacity.maximum),
            HealthCheckType="ELB",
            HealthCheckGracePeriod=INSTANCE_WARMUP_SECONDS,
            # Until an instance has booted and warmed up, its CPU and requests do not count
            # towards the scaling metrics (without this, the 300 s cooldown applies).
            DefaultInstanceWarmup=INSTANCE_WARMUP_SECONDS,
            TargetGroupARNs=[Ref(g) for g in (target_group, internal_group) if g is not None],
            MetricsCollection=[asg.MetricsCollection(Granularity="1Minute")],
            Tags=asg.Tags(
                Environment=Ref(params.environment),
                Service=service.name,
            ),
            CreationPolicy=CreationPolicy(
                ResourceSignal=ResourceSignal(
                    Count=If(HAS_ARTIFACT, minimum, 0), Timeout=SIGNAL_TIMEOUT
                )
            ),
            UpdatePolicy=UpdatePolicy(
                # One new instance at a time, the old ones serving until it has signalled
                # that it serves; no signal within the timeout, or a failure, rolls back.
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
    return ServiceResources(group, target_group, internal_group, log_group)


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
