"""Alarms on what users would notice first, sent to one SNS topic: the API's 5xx rate,
unhealthy instances, database CPU and storage, DynamoDB throttling."""

from __future__ import annotations

from troposphere import GetAtt, If, NoValue, Output, Ref, Template, cloudwatch, sns

from templates.compute import ServiceResources
from templates.data import Data
from templates.loadbalancing import LoadBalancers
from templates.parameters import HAS_ALARM_EMAIL, Params

FIVE_MINUTES = 300
MAX_5XX_PERCENT = 5
MIN_FREE_STORAGE_BYTES = 5 * 1024**3
MAX_DB_CPU_PERCENT = 80


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


def add_observability(
    t: Template,
    params: Params,
    balancers: LoadBalancers,
    data: Data,
    services: dict[str, ServiceResources],
) -> sns.Topic:
    topic = t.add_resource(
        sns.Topic(
            "AlarmTopic",
            KmsMasterKeyId="alias/aws/sns",
            Subscription=If(
                HAS_ALARM_EMAIL,
                [sns.Subscription(Protocol="email", Endpoint=Ref(params.alarm_email))],
                NoValue,
            ),
        )
    )
    alb = {"LoadBalancer": GetAtt(balancers.public, "LoadBalancerFullName")}
    _alarm(
        t,
        "Api5xxRateAlarm",
        topic,
        f"More than {MAX_5XX_PERCENT}% of API requests failed with a 5xx in 5 minutes",
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
    table = [cloudwatch.MetricDimension(Name="TableName", Value=Ref(data.carts_table))]
    for kind in ("Read", "Write"):
        _alarm(
            t,
            f"Carts{kind}ThrottleAlarm",
            topic,
            f"The carts table throttled {kind.lower()}s",
            Namespace="AWS/DynamoDB",
            MetricName=f"{kind}ThrottleEvents",
            Dimensions=table,
            Statistic="Sum",
            Period=FIVE_MINUTES,
            EvaluationPeriods=1,
            Threshold=0,
            ComparisonOperator="GreaterThanThreshold",
        )
    t.add_output(Output("AlarmTopicArn", Value=Ref(topic)))
    return topic
