"""The application load balancers: the public one CloudFront sends `/api/*` to, and an
internal one the services use to call each other. Both route by the contract's table; the
per-service rules are added by `compute.add_service`. The public one forwards only what
this stack's CloudFront sends (templates/origin.py) and refuses the rest."""

from __future__ import annotations

from dataclasses import dataclass

from troposphere import AWSHelperFn, GetAtt, If, Output, Ref, Template, ec2, kms, secretsmanager
from troposphere import elasticloadbalancingv2 as elb

from templates.findings import accepted
from templates.network import Network
from templates.origin import add_origin_secret, from_cloudfront
from templates.parameters import HAS_CERTIFICATE, Params
from templates.security import HTTP, HTTPS, SecurityGroups
from templates.storage import Buckets

TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
NOT_FOUND_BODY = (
    '{"error": {"code": "not_found", "message": "no service answers this path", "details": {}}}'
)
FORBIDDEN_BODY = (
    '{"error": {"code": "forbidden", "message": "only the storefront\'s CloudFront reaches '
    'this origin", "details": {}}}'
)
# After every service's rule (compute.py numbers them from 10): the highest ALB allows.
FALLBACK_PRIORITY = 50000


@dataclass(frozen=True)
class LoadBalancers:
    public: elb.LoadBalancer
    public_listener: AWSHelperFn  # HTTPS when a certificate is given, else HTTP
    internal: elb.LoadBalancer
    internal_listener: elb.Listener
    origin_secret: secretsmanager.Secret  # what CloudFront sends and the public rules require
    public_fallback: elb.ListenerRule  # the contract's 404, for CloudFront's requests only


def _attributes(logs: Buckets, prefix: str) -> list[elb.LoadBalancerAttributes]:
    values = {
        "routing.http.drop_invalid_header_fields.enabled": "true",
        "routing.http.desync_mitigation_mode": "strictest",
        "access_logs.s3.enabled": "true",
        "access_logs.s3.bucket": Ref(logs.logs),
        "access_logs.s3.prefix": prefix,
        "idle_timeout.timeout_seconds": "60",
    }
    return [elb.LoadBalancerAttributes(Key=k, Value=v) for k, v in values.items()]


def _answer(status: str, body: str) -> dict[str, object]:
    return {
        "Type": "fixed-response",
        "FixedResponseConfig": elb.FixedResponseConfig(
            StatusCode=status, ContentType="application/json", MessageBody=body
        ),
    }


def _not_found() -> elb.Action:
    # Paths no service owns get the contract's JSON 404, as the local gateway answers.
    return elb.Action(**_answer("404", NOT_FOUND_BODY))


def _refused() -> elb.Action:
    # Anything but this stack's CloudFront: another distribution, or the ALB's name itself.
    return elb.Action(**_answer("403", FORBIDDEN_BODY))


def add_load_balancers(
    t: Template,
    params: Params,
    network: Network,
    groups: SecurityGroups,
    buckets: Buckets,
    log_policy: AWSHelperFn,
    key: kms.Key,
) -> LoadBalancers:
    def balancer(
        title: str, scheme: str, subnets: list[ec2.Subnet], group: ec2.SecurityGroup, logs: str
    ) -> elb.LoadBalancer:
        return t.add_resource(
            elb.LoadBalancer(
                title,
                Scheme=scheme,
                Type="application",
                Subnets=[Ref(s) for s in subnets],
                SecurityGroups=[Ref(group)],
                LoadBalancerAttributes=_attributes(buckets, logs),
                DependsOn=log_policy,  # access logs need the bucket policy first
            )
        )

    public = balancer(
        "PublicLoadBalancer",
        "internet-facing",
        network.public_subnets,
        groups.public_alb,
        "alb-public",
    )
    https = t.add_resource(
        elb.Listener(
            "PublicHttpsListener",
            Condition=HAS_CERTIFICATE,
            LoadBalancerArn=Ref(public),
            Port=HTTPS,
            Protocol="HTTPS",
            SslPolicy=TLS_POLICY,
            Certificates=[elb.Certificate(CertificateArn=Ref(params.certificate_arn))],
            DefaultActions=[_refused()],
        )
    )
    http = t.add_resource(
        elb.Listener(
            "PublicHttpListener",
            Metadata=accepted(
                (
                    "CKV_AWS_2",
                    "With CertificateArn this listener only redirects to HTTPS; "
                    "without one, CloudFront reaches the ALB over HTTP inside AWS's network and "
                    "the viewer side is still HTTPS.",
                ),
                (
                    "CKV_AWS_103",
                    "As CKV_AWS_2: no TLS to configure on a redirect-only or "
                    "certificate-less listener.",
                ),
            ),
            LoadBalancerArn=Ref(public),
            Port=HTTP,
            Protocol="HTTP",
            DefaultActions=[
                If(
                    HAS_CERTIFICATE,
                    elb.Action(
                        Type="redirect",
                        RedirectConfig=elb.RedirectConfig(
                            Protocol="HTTPS", Port=str(HTTPS), StatusCode="HTTP_301"
                        ),
                    ),
                    _refused(),
                )
            ],
        )
    )
    origin_secret = add_origin_secret(t, key)
    listener = If(HAS_CERTIFICATE, Ref(https), Ref(http))
    fallback = t.add_resource(
        elb.ListenerRule(
            "PublicNotFoundRule",
            ListenerArn=listener,
            Priority=FALLBACK_PRIORITY,
            Conditions=[from_cloudfront(origin_secret)],
            Actions=[elb.ListenerRuleAction(**_answer("404", NOT_FOUND_BODY))],
        )
    )
    internal = balancer(
        "InternalLoadBalancer",
        "internal",
        network.private_subnets,
        groups.internal_alb,
        "alb-internal",
    )
    # Inside the VPC, between our own security groups; no certificate names an internal ALB.
    internal_listener = t.add_resource(
        elb.Listener(
            "InternalHttpListener",
            Metadata=accepted(
                (
                    "CKV_AWS_2",
                    "Internal ALB in private subnets, reachable only from the "
                    "orders security group; TLS would need a private CA for the ALB's name.",
                ),
                ("CKV_AWS_103", "As CKV_AWS_2: plain HTTP between the stack's own groups."),
            ),
            LoadBalancerArn=Ref(internal),
            Port=HTTP,
            Protocol="HTTP",
            DefaultActions=[_not_found()],
        )
    )
    t.add_output(Output("LoadBalancerDnsName", Value=GetAtt(public, "DNSName")))
    return LoadBalancers(public, listener, internal, internal_listener, origin_secret, fallback)
