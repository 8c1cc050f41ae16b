"""Data stores: RDS PostgreSQL (Multi-AZ, encrypted, master password held by Secrets Manager)
with one database and login per service that owns one, and the services' DynamoDB tables."""

from __future__ import annotations

import json
from dataclasses import dataclass

from troposphere import (
    GetAtt,
    If,
    Join,
    NoValue,
    Output,
    Ref,
    Sub,
    Template,
    dynamodb,
    kms,
    rds,
    secretsmanager,
)
from troposphere import logs as cwlogs

from petshore.contract import PROJECT, SERVICES, Table
from templates.findings import accepted
from templates.iam import add_service_role
from templates.network import Network
from templates.parameters import SMALL, SMALL_DATABASE_CLASS, Params
from templates.security import DATABASE_IDENTIFIER, POSTGRES_PORT, SecurityGroups

# A full minor version: cfn-lint flags bare majors, and upgrades stay deliberate.
POSTGRES_VERSION = "17.11"
PARAMETER_FAMILY = "postgres17"
# The services' statements are short: one that runs this long is stuck, and holds locks
# checkouts wait on. Slow ones are logged to find them; a session idle inside a
# transaction (a crashed client) is ended.
DATABASE_SETTINGS = {
    "statement_timeout": "30000",
    "idle_in_transaction_session_timeout": "60000",
    "lock_timeout": "10000",
    "log_min_duration_statement": "500",
    "log_lock_waits": "1",
    "log_autovacuum_min_duration": "10000",
    "rds.force_ssl": "1",
}
RDS_LOG_RETENTION_DAYS = 30
RDS_LOG_EXPORTS = ("postgresql", "upgrade")
BACKUP_RETENTION_DAYS = 7
MONITORING_INTERVAL_SECONDS = 60


@dataclass(frozen=True)
class Data:
    database: rds.DBInstance
    master_secret_arn: GetAtt
    service_secrets: dict[str, secretsmanager.Secret]
    tables: dict[str, dynamodb.Table]  # by Table.suffix


def add_data(
    t: Template, params: Params, network: Network, groups: SecurityGroups, key: kms.Key
) -> Data:
    subnets = t.add_resource(
        rds.DBSubnetGroup(
            "DatabaseSubnetGroup",
            DBSubnetGroupDescription="Private subnets of the database",
            SubnetIds=[Ref(s) for s in network.private_subnets],
        )
    )
    # Attached from the start: attaching a custom parameter group later needs a reboot.
    settings = t.add_resource(
        rds.DBParameterGroup(
            "DatabaseParameters",
            Description="Pet Shore 3D: statement timeouts and slow-query logging",
            Family=PARAMETER_FAMILY,
            Parameters=DATABASE_SETTINGS,
        )
    )
    # The groups RDS would create for its exported logs, made first so they expire.
    identifier = Sub(DATABASE_IDENTIFIER)
    exported = [
        t.add_resource(
            cwlogs.LogGroup(
                f"Database{kind.capitalize()}LogGroup",
                LogGroupName=Sub(f"/aws/rds/instance/${{Id}}/{kind}", Id=identifier),
                RetentionInDays=RDS_LOG_RETENTION_DAYS,
                # Slow statements are logged with their text: encrypted like the data.
                KmsKeyId=GetAtt(key, "Arn"),
            )
        )
        for kind in RDS_LOG_EXPORTS
    ]
    monitoring = add_service_role(
        t,
        "DatabaseMonitoringRole",
        "monitoring.rds.amazonaws.com",
        "service-role/AmazonRDSEnhancedMonitoringRole",
    )
    database = t.add_resource(
        rds.DBInstance(
            "Database",
            # Named, so that its exported logs' groups can be made (and expire) beforehand.
            DBInstanceIdentifier=identifier,
            DBParameterGroupName=Ref(settings),
            PreferredBackupWindow=Ref(params.db_backup_window),
            PreferredMaintenanceWindow=Ref(params.db_maintenance_window),
            DependsOn=[g.title for g in exported],
            Metadata=accepted(
                (
                    "CKV_AWS_157",
                    "Multi-AZ with Footprint=production; Footprint=small (staging, quiet "
                    "shops) is single-AZ by choice, its cost in docs/architecture.md.",
                ),
            ),
            Engine="postgres",
            EngineVersion=POSTGRES_VERSION,
            DBInstanceClass=If(SMALL, SMALL_DATABASE_CLASS, Ref(params.db_instance_class)),
            AllocatedStorage=Ref(params.db_allocated_storage),
            MaxAllocatedStorage=Ref(params.db_max_storage),
            StorageType="gp3",
            StorageEncrypted=True,
            KmsKeyId=Ref(key),
            # Performance Insights does not run on the small footprint's micro class.
            PerformanceInsightsKMSKeyId=If(SMALL, NoValue, Ref(key)),
            MultiAZ=If(SMALL, False, True),
            PubliclyAccessible=False,
            DBSubnetGroupName=Ref(subnets),
            VPCSecurityGroups=[Ref(groups.database)],
            Port=str(POSTGRES_PORT),
            MasterUsername="petshore_admin",
            ManageMasterUserPassword=True,
            MasterUserSecret=rds.MasterUserSecret(KmsKeyId=Ref(key)),
            EnableIAMDatabaseAuthentication=True,
            BackupRetentionPeriod=BACKUP_RETENTION_DAYS,
            CopyTagsToSnapshot=True,
            DeletionProtection=True,
            AutoMinorVersionUpgrade=True,
            MonitoringInterval=MONITORING_INTERVAL_SECONDS,
            MonitoringRoleArn=GetAtt(monitoring, "Arn"),
            EnablePerformanceInsights=If(SMALL, False, True),
            EnableCloudwatchLogsExports=list(RDS_LOG_EXPORTS),
            DeletionPolicy="Snapshot",
            UpdateReplacePolicy="Snapshot",
        )
    )
    service_secrets = {}
    for service in (s for s in SERVICES if s.database):
        service_secrets[service.name] = t.add_resource(
            secretsmanager.Secret(
                f"{service.name.capitalize()}DatabaseSecret",
                Description=f"Login of the {service.name} service to its own database",
                KmsKeyId=Ref(key),
                GenerateSecretString=secretsmanager.GenerateSecretString(
                    SecretStringTemplate=json.dumps(
                        {"username": service.database, "dbname": service.database}
                    ),
                    GenerateStringKey="password",
                    PasswordLength=40,
                    ExcludePunctuation=True,
                ),
            )
        )
    tables = {
        table.suffix: _table(t, params, key, table)
        for service in SERVICES
        for table in service.tables
    }
    t.add_output(Output("DatabaseEndpoint", Value=GetAtt(database, "Endpoint.Address")))
    for table in tables.values():
        t.add_output(Output(f"{table.title}Name", Value=Ref(table)))
    return Data(database, GetAtt(database, "MasterUserSecret.SecretArn"), service_secrets, tables)


def _index(table: Table) -> dict[str, list[dynamodb.GlobalSecondaryIndex]]:
    """The table's index by owner, keys only, if it has one."""
    if not table.index:
        return {}
    index = dynamodb.GlobalSecondaryIndex(
        IndexName=table.index_name,
        KeySchema=[dynamodb.KeySchema(AttributeName=table.index, KeyType="HASH")],
        Projection=dynamodb.Projection(ProjectionType="KEYS_ONLY"),
    )
    return {"GlobalSecondaryIndexes": [index]}


def _table(t: Template, params: Params, key: kms.Key, table: Table) -> dynamodb.Table:
    """On demand (the traffic is spiky and small), TTL (expired items go for free), PITR, the
    stack's key; kept when the stack is deleted."""
    return t.add_resource(
        dynamodb.Table(
            f"{table.suffix.capitalize()}Table",
            # Table.name() in petshore.contract, evaluated at deploy time.
            TableName=Join("-", [PROJECT, Ref(params.environment), table.suffix]),
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                dynamodb.AttributeDefinition(
                    AttributeName=table.hash_key, AttributeType=table.hash_key_type
                ),
                *(
                    [dynamodb.AttributeDefinition(AttributeName=table.index, AttributeType="S")]
                    if table.index
                    else []
                ),
            ],
            KeySchema=[dynamodb.KeySchema(AttributeName=table.hash_key, KeyType="HASH")],
            **_index(table),
            TimeToLiveSpecification=dynamodb.TimeToLiveSpecification(
                AttributeName=table.ttl_attribute, Enabled=True
            ),
            SSESpecification=dynamodb.SSESpecification(
                SSEEnabled=True, SSEType="KMS", KMSMasterKeyId=Ref(key)
            ),
            PointInTimeRecoverySpecification=dynamodb.PointInTimeRecoverySpecification(
                PointInTimeRecoveryEnabled=True
            ),
            DeletionProtectionEnabled=True,
            DeletionPolicy="Retain",
            UpdateReplacePolicy="Retain",
        )
    )
