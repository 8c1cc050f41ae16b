"""Alarms on what users would notice first, sent to one SNS topic encrypted with a key that
CloudWatch may use (with `alias/aws/sns`, CloudWatch cannot publish, and no alarm reaches
anyone): 5xx rates of both ALBs and of CloudFront, p99 latency per service, unhealthy
instances, a group stuck at its maximum, burstable instances paying for CPU credits, database
CPU, storage, connections and memory, DynamoDB throttling; and for uploaded models, a job or
a result that could not be handled (a dead letter) and a job left waiting."""

from __future__ import annotations

from troposphere import Equals, GetAtt, If, NoValue, Output, Ref, Template, cloudwatch, kms, sns

from templates.compute import ServiceResources, WorkerResources
from templates.data import Data
from templates.loadbalancing import LoadBalancers
from templates.parameters import HAS_ALARM_EMAIL, SMALL, WORKER_TITLE, Params
from templates.queues import Queues

FIVE_MINUTES = 300
MAX_5XX_PERCENT = 5
MIN_FREE_STORAGE_BYTES = 5 * 1024**3
MAX_DB_CPU_PERCENT = 80
MAX_P99_SECONDS = 1.0
# 80% of PostgreSQL's max_connections on RDS (its memory / 9,531,392 bytes): about 112 on the
# small footprint's 1 GiB class, about 900 on the production default's 8 GiB.
MAX_DB_CONNECTIONS = (90, 720)
MIN_FREEABLE_MEMORY_BYTES = (100 * 1024**2, 800 * 1024**2)
# A job takes 10-30 s (templates/capacity.py) and the group grows when they pile up: one
# still waiting after this long means the workers are failing, stuck or all busy at Max.
MAX_JOB_AGE_SECONDS = 600
# CloudFront publishes its metrics in us-east-1 only, where an alarm on them must live.
IN_US_EAST_1 = "InUsEast1"


def _alarm(
    t: Template, title: str, topic: sns.Topic, description: str, **props: object
) -> cloudwatch.Alarm:
    return t.add_resource(
        cloudwatch.Alarm(
            title,
            AlarmDescription=description,
            AlarmActions=[Ref(topic)],
            OKActions=[Ref(topic)],
            TreatMissingData="notBreaching",
            **props,
        )
    )


def _metric(
    metric_id: str, namespace: str, name: str, dimensions: dict[str, object], stat: str = "Sum"
) -> cloudwatch.MetricDataQuery:
    return cloudwatch.MetricDataQuery(
        Id=metric_id,
        ReturnData=False,
        MetricStat=cloudwatch.MetricStat(
            Metric=cloudwatch.Metric(
                Namespace=namespace,
                MetricName=name,
                Dimensions=[
                    cloudwatch.MetricDimension(Name=k, Value=v) for k, v in dimensions.items()
                ],
            ),
            Period=FIVE_MINUTES,
            Stat=stat,
        ),
    )


def _by_footprint(values: tuple[int, int]) -> If:
    small, production = values
    return If(SMALL, small, production)


def _error_rate(t: Template, title: str, topic: sns.Topic, which: str, balancer: object) -> None:
    alb = {"LoadBalancer": GetAtt(balancer, "LoadBalancerFullName")}
    _alarm(
        t,
        title,
        topic,
        f"More than {MAX_5XX_PERCENT}% of {which} requests failed with a 5xx in 5 minutes",
        Metrics=[
            _metric("errors", "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", alb),
            _metric("elb_errors", "AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", alb),
            _metric("requests", "AWS/ApplicationELB", "RequestCount", alb),
            cloudwatch.MetricDataQuery(
                Id="rate",
                Label="5xx percent",
                ReturnData=True,
                Expression="100 * (FILL(errors, 0) + FILL(elb_errors, 0)) / MAX([requests, 1])",
            ),
        ],
        ComparisonOperator="GreaterThanThreshold",
        Threshold=MAX_5XX_PERCENT,
        EvaluationPeriods=2,
        DatapointsToAlarm=2,
    )


def add_observability(
    t: Template,
    params: Params,
    balancers: LoadBalancers,
    data: Data,
    services: dict[str, ServiceResources],
    worker: WorkerResources,
    queues: Queues,
    key: kms.Key,
    distribution: object,
) -> sns.Topic:
    t.add_condition(IN_US_EAST_1, Equals(Ref("AWS::Region"), "us-east-1"))
    topic = t.add_resource(
        sns.Topic(
            "AlarmTopic",
            KmsMasterKeyId=Ref(key),
            Subscription=If(
                HAS_ALARM_EMAIL,
                [sns.Subscription(Protocol="email", Endpoint=Ref(params.alarm_email))],
                NoValue,
            ),
        )
    )
    alb = {"LoadBalancer": GetAtt(balancers.public, "LoadBalancerFullName")}
    _error_rate(t, "Api5xxRateAlarm", topic, "API", balancers.public)
    _error_rate(t, "InternalApi5xxRateAlarm", topic, "service-to-service", balancers.internal)
    _alarm(
        t,
        "Edge5xxRateAlarm",
        topic,
        f"More than {MAX_5XX_PERCENT}% of CloudFront's answers were 5xx for 10 minutes",
        Condition=IN_US_EAST_1,
        Namespace="AWS/CloudFront",
        MetricName="5xxErrorRate",
        Dimensions=[
            cloudwatch.MetricDimension(Name="DistributionId", Value=Ref(distribution)),
            cloudwatch.MetricDimension(Name="Region", Value="Global"),
        ],
        Statistic="Average",
        Period=FIVE_MINUTES,
        EvaluationPeriods=2,
        Threshold=MAX_5XX_PERCENT,
        ComparisonOperator="GreaterThanThreshold",
    )
    for name, resources in services.items():
        _alarm(
            t,
            f"{name.capitalize()}UnhealthyHostsAlarm",
            topic,
            f"{name} has instances failing their health check",
            Namespace="AWS/ApplicationELB",
            MetricName="UnHealthyHostCount",
            Dimensions=[
                cloudwatch.MetricDimension(Name="LoadBalancer", Value=alb["LoadBalancer"]),
                cloudwatch.MetricDimension(
                    Name="TargetGroup",
                    Value=GetAtt(resources.target_group, "TargetGroupFullName"),
                ),
            ],
            Statistic="Maximum",
            Period=60,
            EvaluationPeriods=3,
            Threshold=0,
            ComparisonOperator="GreaterThanThreshold",
        )
        _service_alarms(t, name, resources, params.instance_type.title, topic, alb)
    _group_alarms(
        t, WORKER_TITLE, "the model worker", worker.group, params.worker_instance_type.title, topic
    )
    _queue_alarms(t, queues, topic)
    db = [cloudwatch.MetricDimension(Name="DBInstanceIdentifier", Value=Ref(data.database))]
    _alarm(
        t,
        "DatabaseCpuAlarm",
        topic,
        f"Database CPU above {MAX_DB_CPU_PERCENT}% for 15 minutes",
        Namespace="AWS/RDS",
        MetricName="CPUUtilization",
        Dimensions=db,
        Statistic="Average",
        Period=FIVE_MINUTES,
        EvaluationPeriods=3,
        Threshold=MAX_DB_CPU_PERCENT,
        ComparisonOperator="GreaterThanThreshold",
    )
    _alarm(
        t,
        "DatabaseStorageAlarm",
        topic,
        "Database has less than 5 GiB of free storage",
        Namespace="AWS/RDS",
        MetricName="FreeStorageSpace",
        Dimensions=db,
        Statistic="Minimum",
        Period=FIVE_MINUTES,
        EvaluationPeriods=1,
        Threshold=MIN_FREE_STORAGE_BYTES,
        ComparisonOperator="LessThanThreshold",
    )
    _alarm(
        t,
        "DatabaseConnectionsAlarm",
        topic,
        "Database connections near PostgreSQL's max_connections for 10 minutes",
        Namespace="AWS/RDS",
        MetricName="DatabaseConnections",
        Dimensions=db,
        Statistic="Maximum",
        Period=FIVE_MINUTES,
        EvaluationPeriods=2,
        Threshold=_by_footprint(MAX_DB_CONNECTIONS),
        ComparisonOperator="GreaterThanThreshold",
    )
    _alarm(
        t,
        "DatabaseMemoryAlarm",
        topic,
        "Database freeable memory low for 10 minutes (it will swap, then slow down)",
        Namespace="AWS/RDS",
        MetricName="FreeableMemory",
        Dimensions=db,
        Statistic="Minimum",
        Period=FIVE_MINUTES,
        EvaluationPeriods=2,
        Threshold=_by_footprint(MIN_FREEABLE_MEMORY_BYTES),
        ComparisonOperator="LessThanThreshold",
    )
    for suffix, table in data.tables.items():
        dimensions = [cloudwatch.MetricDimension(Name="TableName", Value=Ref(table))]
        for kind in ("Read", "Write"):
            _alarm(
                t,
                f"{suffix.capitalize()}{kind}ThrottleAlarm",
                topic,
                f"The {suffix} table throttled {kind.lower()}s",
                Namespace="AWS/DynamoDB",
                MetricName=f"{kind}ThrottleEvents",
                Dimensions=dimensions,
                Statistic="Sum",
                Period=FIVE_MINUTES,
                EvaluationPeriods=1,
                Threshold=0,
                ComparisonOperator="GreaterThanThreshold",
            )
    t.add_output(Output("AlarmTopicArn", Value=Ref(topic)))
    return topic


def _group_alarms(
    t: Template, title: str, name: str, group: object, instance_type: str, topic: sns.Topic
) -> None:
    """A group that cannot grow any more, and burstable instances paying for it."""
    dimensions = {"AutoScalingGroupName": Ref(group)}
    _alarm(
        t,
        f"{title}AtMaxAlarm",
        topic,
        f"{name} has been at its Max instances for 10 minutes: it cannot scale out further",
        Metrics=[
            _metric("serving", "AWS/AutoScaling", "GroupInServiceInstances", dimensions, "Maximum"),
            _metric("most", "AWS/AutoScaling", "GroupMaxSize", dimensions, "Maximum"),
            cloudwatch.MetricDataQuery(
                Id="at_max", Label="at max", ReturnData=True, Expression="IF(serving >= most, 1, 0)"
            ),
        ],
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        Threshold=1,
        EvaluationPeriods=2,
        DatapointsToAlarm=2,
    )
    _alarm(
        t,
        f"{title}CpuCreditsAlarm",
        topic,
        f"{name}'s burstable instances are paying for surplus CPU credits: a larger or "
        f"non-burstable {instance_type} would cost less",
        Namespace="AWS/EC2",
        MetricName="CPUSurplusCreditsCharged",
        Dimensions=[cloudwatch.MetricDimension(Name=k, Value=v) for k, v in dimensions.items()],
        Statistic="Sum",
        Period=FIVE_MINUTES,
        EvaluationPeriods=3,
        Threshold=0,
        ComparisonOperator="GreaterThanThreshold",
    )


def _queue_alarms(t: Template, queues: Queues, topic: sns.Topic) -> None:
    for title, queue, what in (
        ("ModelJobsDeadLetterAlarm", queues.jobs_dead_letters, "A model job failed every try"),
        (
            "ModelResultsDeadLetterAlarm",
            queues.results_dead_letters,
            "The catalog could not record a processed model",
        ),
    ):
        _alarm(
            t,
            title,
            topic,
            f"{what}: it waits in {queue.title} for someone to read why",
            Namespace="AWS/SQS",
            MetricName="ApproximateNumberOfMessagesVisible",
            Dimensions=[
                cloudwatch.MetricDimension(Name="QueueName", Value=GetAtt(queue, "QueueName"))
            ],
            Statistic="Maximum",
            Period=FIVE_MINUTES,
            EvaluationPeriods=1,
            Threshold=0,
            ComparisonOperator="GreaterThanThreshold",
        )
    _alarm(
        t,
        "ModelJobsWaitingAlarm",
        topic,
        f"A model job has waited more than {MAX_JOB_AGE_SECONDS // 60} minutes: the model "
        "worker is failing, stuck, or busy at its Max",
        Namespace="AWS/SQS",
        MetricName="ApproximateAgeOfOldestMessage",
        Dimensions=[
            cloudwatch.MetricDimension(Name="QueueName", Value=GetAtt(queues.jobs, "QueueName"))
        ],
        Statistic="Maximum",
        Period=FIVE_MINUTES,
        EvaluationPeriods=1,
        Threshold=MAX_JOB_AGE_SECONDS,
        ComparisonOperator="GreaterThanThreshold",
    )


def _service_alarms(
    t: Template,
    name: str,
    resources: ServiceResources,
    instance_type: str,
    topic: sns.Topic,
    alb: dict[str, object],
) -> None:
    title = name.capitalize()
    _group_alarms(t, title, name, resources.group, instance_type, topic)
    _alarm(
        t,
        f"{title}LatencyAlarm",
        topic,
        f"{name}'s p99 response time above {MAX_P99_SECONDS:g} s for 10 minutes",
        Namespace="AWS/ApplicationELB",
        MetricName="TargetResponseTime",
        Dimensions=[
            cloudwatch.MetricDimension(Name="LoadBalancer", Value=alb["LoadBalancer"]),
            cloudwatch.MetricDimension(
                Name="TargetGroup", Value=GetAtt(resources.target_group, "TargetGroupFullName")
            ),
        ],
        ExtendedStatistic="p99",
        Period=FIVE_MINUTES,
        EvaluationPeriods=2,
        Threshold=MAX_P99_SECONDS,
        ComparisonOperator="GreaterThanThreshold",
    )
