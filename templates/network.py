"""A VPC across two Availability Zones: public subnets (ALB, NAT), private subnets (services,
database), a NAT gateway per AZ or one shared, and gateway endpoints so S3 and DynamoDB
traffic never pays for the NAT."""

from __future__ import annotations

from dataclasses import dataclass

from troposphere import (
    Export,
    GetAtt,
    GetAZs,
    If,
    Join,
    Output,
    Ref,
    Select,
    Sub,
    Template,
    ec2,
    s3,
)

from templates.parameters import PRODUCTION, SMALL, Params

VPC_CIDR = "10.40.0.0/16"
PUBLIC_CIDRS = ("10.40.0.0/20", "10.40.16.0/20")
PRIVATE_CIDRS = ("10.40.128.0/19", "10.40.160.0/19")


@dataclass(frozen=True)
class Network:
    vpc: ec2.VPC
    public_subnets: list[ec2.Subnet]
    private_subnets: list[ec2.Subnet]
    private_route_tables: list[ec2.RouteTable]
    private_default_routes: list[ec2.Route]  # through the NAT: AWS APIs without endpoints


def add_network(t: Template, params: Params, logs_bucket: s3.Bucket) -> Network:
    vpc = t.add_resource(
        ec2.VPC("Vpc", CidrBlock=VPC_CIDR, EnableDnsHostnames=True, EnableDnsSupport=True)
    )
    t.add_resource(
        ec2.FlowLog(
            "VpcFlowLog",
            ResourceId=Ref(vpc),
            ResourceType="VPC",
            TrafficType="REJECT",
            LogDestinationType="s3",
            LogDestination=Sub("${Bucket}/vpc-flow-logs/", Bucket=GetAtt(logs_bucket, "Arn")),
        )
    )
    igw = t.add_resource(ec2.InternetGateway("InternetGateway"))
    attach = t.add_resource(
        ec2.VPCGatewayAttachment(
            "InternetGatewayAttachment", VpcId=Ref(vpc), InternetGatewayId=Ref(igw)
        )
    )
    public_rt = t.add_resource(ec2.RouteTable("PublicRouteTable", VpcId=Ref(vpc)))
    t.add_resource(
        ec2.Route(
            "PublicDefaultRoute",
            RouteTableId=Ref(public_rt),
            DestinationCidrBlock="0.0.0.0/0",
            GatewayId=Ref(igw),
            DependsOn=attach,
        )
    )

    def subnet(title: str, cidr: str, az: Select, routes: ec2.RouteTable) -> ec2.Subnet:
        made = t.add_resource(
            ec2.Subnet(
                title,
                VpcId=Ref(vpc),
                CidrBlock=cidr,
                AvailabilityZone=az,
                MapPublicIpOnLaunch=False,
            )
        )
        t.add_resource(
            ec2.SubnetRouteTableAssociation(
                f"{title}Routes", SubnetId=Ref(made), RouteTableId=Ref(routes)
            )
        )
        return made

    public, private, private_rts, nats = [], [], [], []
    private_routes: list[ec2.Route] = []
    for i in (0, 1):
        n = i + 1
        az = Select(i, GetAZs(""))
        pub = subnet(f"PublicSubnet{n}", PUBLIC_CIDRS[i], az, public_rt)
        rt = t.add_resource(ec2.RouteTable(f"PrivateRouteTable{n}", VpcId=Ref(vpc)))
        priv = subnet(f"PrivateSubnet{n}", PRIVATE_CIDRS[i], az, rt)
        # The second NAT gateway exists only when each AZ gets its own.
        condition = {"Condition": PRODUCTION} if i else {}
        eip = t.add_resource(ec2.EIP(f"NatAddress{n}", Domain="vpc", DependsOn=attach, **condition))
        nats.append(
            t.add_resource(
                ec2.NatGateway(
                    f"NatGateway{n}",
                    AllocationId=GetAtt(eip, "AllocationId"),
                    SubnetId=Ref(pub),
                    **condition,
                )
            )
        )
        nat = Ref(nats[0]) if i == 0 else If(SMALL, Ref(nats[0]), Ref(nats[1]))
        private_routes.append(
            t.add_resource(
                ec2.Route(
                    f"PrivateDefaultRoute{n}",
                    RouteTableId=Ref(rt),
                    DestinationCidrBlock="0.0.0.0/0",
                    NatGatewayId=nat,
                )
            )
        )
        public.append(pub)
        private.append(priv)
        private_rts.append(rt)
    for service in ("s3", "dynamodb"):
        t.add_resource(
            ec2.VPCEndpoint(
                f"{service.capitalize()}Endpoint",
                VpcId=Ref(vpc),
                ServiceName=Sub(f"com.amazonaws.${{AWS::Region}}.{service}"),
                VpcEndpointType="Gateway",
                RouteTableIds=[Ref(rt) for rt in private_rts],
            )
        )
    t.add_output(Output("VpcId", Value=Ref(vpc), Export=Export(Sub("${AWS::StackName}-VpcId"))))
    t.add_output(
        Output(
            "PrivateSubnets",
            Value=Join(",", [Ref(s) for s in private]),
            Description="Private subnets of the services and the database",
        )
    )
    return Network(vpc, public, private, private_rts, private_routes)
