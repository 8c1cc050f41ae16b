"""The single public entry: CloudFront in front of the models bucket (`/models/*` and the
photos' `/media/*`), the public ALB (`/api/*`) and the storefront's static site (everything
else), optionally behind WAF, with Route 53 aliases when a domain is given."""

from __future__ import annotations

from troposphere import (
    Equals,
    GetAtt,
    If,
    Join,
    NoValue,
    Output,
    Ref,
    Sub,
    Template,
    kms,
    route53,
    wafv2,
)
from troposphere import cloudfront as cf
from troposphere import logs as cwlogs

from petshore.contract import (
    API_CSP,
    API_PATH_PREFIX,
    CATALOG,
    CATALOG_CACHE_SECONDS,
    FILE_PATH_PREFIXES,
    FRAME_OPTIONS,
    REFERRER_POLICY,
    S3_BUCKET_ORIGIN,
    SESSIONS_PATH,
    storefront_csp,
)
from templates.findings import accepted
from templates.loadbalancing import LoadBalancers
from templates.origin import API_ORIGIN, origin_header
from templates.parameters import (
    CREATE_WAF,
    HAS_CERTIFICATE,
    HAS_DOMAIN,
    HAS_WEB_ACL_ARN,
    WAF_REGION,
    Params,
)
from templates.security import WAF_LOG_GROUP
from templates.storage import Buckets

# AWS managed cache and origin request policies (their IDs are fixed and published).
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
SECURITY_HEADERS = "67f7725c-6f97-4210-82d7-5512b31e9d03"
# Its logical id: instances name its domain (in links) before it is added to the template.
DISTRIBUTION = "Distribution"
CLOUDFRONT_ZONE = "Z2FDTNDATAQYW2"  # the hosted zone of every CloudFront alias
HSTS_SECONDS = 31536000  # as AWS's managed security headers policy, which this one replaces
RATE_LIMIT_PER_5_MIN = 2000  # API calls per address
SIGN_IN_LIMIT_PER_5_MIN = 100  # sign-in attempts per address
WAF_LOG_RETENTION_DAYS = 30

# Client-side routes (/product/X) are pages of the single-page app; files keep their path.
SPA_FUNCTION = """function handler(event) {
  var request = event.request;
  var last = request.uri.split('/').pop();
  if (last.indexOf('.') === -1) { request.uri = '/index.html'; }
  return request;
}"""


def _path_starts(prefix: str) -> wafv2.Statement:
    return wafv2.Statement(
        ByteMatchStatement=wafv2.ByteMatchStatement(
            FieldToMatch=wafv2.FieldToMatch(UriPath={}),
            PositionalConstraint="STARTS_WITH",
            SearchString=prefix,
            TextTransformations=[wafv2.TextTransformation(Priority=0, Type="NONE")],
        )
    )


def _rate_limit(name: str, priority: int, limit: int, scope: wafv2.Statement) -> wafv2.WebACLRule:
    return wafv2.WebACLRule(
        Name=name,
        Priority=priority,
        Action=wafv2.RuleAction(Block=wafv2.BlockAction()),
        Statement=wafv2.Statement(
            RateBasedStatement=wafv2.RateBasedStatement(
                Limit=limit, AggregateKeyType="IP", ScopeDownStatement=scope
            )
        ),
        VisibilityConfig=_visibility(name),
    )


def add_web_acl(
    t: Template, *, key: kms.Key | None = None, condition: str | None = None
) -> wafv2.WebACL:
    """The web ACL, its log group (encrypted with `key` when there is one) and its logging,
    each made under `condition` when there is one."""
    only: dict[str, object] = {"Condition": condition} if condition else {}
    encrypted: dict[str, object] = {"KmsKeyId": GetAtt(key, "Arn")} if key else {}

    def managed(name: str, priority: int) -> wafv2.WebACLRule:
        return wafv2.WebACLRule(
            Name=name,
            Priority=priority,
            OverrideAction=wafv2.OverrideAction(**{"None": {}}),
            Statement=wafv2.Statement(
                ManagedRuleGroupStatement=wafv2.ManagedRuleGroupStatement(
                    VendorName="AWS", Name=name
                )
            ),
            VisibilityConfig=_visibility(name),
        )

    sign_in = wafv2.Statement(
        AndStatement=wafv2.AndStatement(
            Statements=[
                _path_starts(SESSIONS_PATH),
                wafv2.Statement(
                    ByteMatchStatement=wafv2.ByteMatchStatement(
                        FieldToMatch=wafv2.FieldToMatch(Method={}),
                        PositionalConstraint="EXACTLY",
                        SearchString="POST",
                        TextTransformations=[wafv2.TextTransformation(Priority=0, Type="NONE")],
                    )
                ),
            ]
        )
    )
    acl = t.add_resource(
        wafv2.WebACL(
            "WebAcl",
            **only,
            Scope="CLOUDFRONT",
            DefaultAction=wafv2.DefaultAction(Allow=wafv2.AllowAction()),
            VisibilityConfig=_visibility("petshore"),
            Rules=[
                # API calls only: model files, photos and the site's files are cached
                # downloads, and shoppers behind one carrier NAT share an address.
                _rate_limit(
                    "RateLimitApiPerIp", 0, RATE_LIMIT_PER_5_MIN, _path_starts(API_PATH_PREFIX)
                ),
                # Password guessing from one address meets the edge before the accounts
                # service's own per-account and per-address counters.
                _rate_limit("RateLimitSignInPerIp", 1, SIGN_IN_LIMIT_PER_5_MIN, sign_in),
                managed("AWSManagedRulesCommonRuleSet", 2),
                managed("AWSManagedRulesKnownBadInputsRuleSet", 3),
                managed("AWSManagedRulesAmazonIpReputationList", 4),
            ],
        )
    )
    logs = t.add_resource(
        cwlogs.LogGroup(
            "WebAclLogGroup",
            **only,
            LogGroupName=Sub(WAF_LOG_GROUP),
            RetentionInDays=WAF_LOG_RETENTION_DAYS,
            **encrypted,
        )
    )
    t.add_resource(
        wafv2.LoggingConfiguration(
            "WebAclLogging",
            **only,
            ResourceArn=GetAtt(acl, "Arn"),
            LogDestinationConfigs=[GetAtt(logs, "Arn")],
            # Session cookies, admin tokens and CSRF tokens never reach the logs.
            RedactedFields=[
                wafv2.LoggingConfigurationFieldToMatch(SingleHeader=wafv2.SingleHeader(Name=name))
                for name in ("cookie", "authorization", "x-csrf-token")
            ],
        )
    )
    return acl


def _security_headers(
    t: Template, name: str, csp: str | Sub, purpose: str
) -> cf.ResponseHeadersPolicy:
    """The security headers of AWS's managed policy (less the retired X-XSS-Protection),
    with `csp` and no framing; each replaces a header the origin may have sent."""
    return t.add_resource(
        cf.ResponseHeadersPolicy(
            f"{name}HeadersPolicy",
            ResponseHeadersPolicyConfig=cf.ResponseHeadersPolicyConfig(
                Name=Sub(f"${{AWS::StackName}}-{name.lower()}"),
                Comment=purpose,
                SecurityHeadersConfig=cf.SecurityHeadersConfig(
                    ContentSecurityPolicy=cf.ContentSecurityPolicy(
                        ContentSecurityPolicy=csp, Override=True
                    ),
                    ContentTypeOptions=cf.ContentTypeOptions(Override=True),
                    FrameOptions=cf.FrameOptions(FrameOption=FRAME_OPTIONS, Override=True),
                    ReferrerPolicy=cf.ReferrerPolicy(ReferrerPolicy=REFERRER_POLICY, Override=True),
                    StrictTransportSecurity=cf.StrictTransportSecurity(
                        AccessControlMaxAgeSec=HSTS_SECONDS, Override=True
                    ),
                ),
            ),
        )
    )


def _catalog_cache_policy(t: Template) -> cf.CachePolicy:
    """Catalog reads the same for every shopper are cached for the seconds the catalog's own
    Cache-Control allows (at most CATALOG_CACHE_SECONDS): a launch-day crowd browsing the same
    products is answered at the edge. Answers the catalog marks `no-store` (admin calls,
    errors) are never kept, and a request with credentials has its own cache entry."""
    return t.add_resource(
        cf.CachePolicy(
            "CatalogCachePolicy",
            CachePolicyConfig=cf.CachePolicyConfig(
                Name=Sub("${AWS::StackName}-catalog"),
                Comment="public catalog reads, by query string, for seconds",
                MinTTL=0,
                DefaultTTL=0,
                MaxTTL=CATALOG_CACHE_SECONDS,
                ParametersInCacheKeyAndForwardedToOrigin=cf.ParametersInCacheKeyAndForwardedToOrigin(
                    EnableAcceptEncodingGzip=True,
                    EnableAcceptEncodingBrotli=True,
                    CookiesConfig=cf.CacheCookiesConfig(CookieBehavior="none"),
                    HeadersConfig=cf.CacheHeadersConfig(
                        HeaderBehavior="whitelist", Headers=["Authorization"]
                    ),
                    QueryStringsConfig=cf.CacheQueryStringsConfig(QueryStringBehavior="all"),
                ),
            ),
        )
    )


def _visibility(name: str) -> wafv2.VisibilityConfig:
    return wafv2.VisibilityConfig(
        CloudWatchMetricsEnabled=True, MetricName=name, SampledRequestsEnabled=True
    )


def add_edge(
    t: Template, params: Params, buckets: Buckets, balancers: LoadBalancers, key: kms.Key
) -> cf.Distribution:
    oac = t.add_resource(
        cf.OriginAccessControl(
            "OriginAccessControl",
            OriginAccessControlConfig=cf.OriginAccessControlConfig(
                Name=Sub("${AWS::StackName}-s3"),
                OriginAccessControlOriginType="s3",
                SigningBehavior="always",
                SigningProtocol="sigv4",
            ),
        )
    )
    spa = t.add_resource(
        cf.Function(
            "SinglePageAppFunction",
            Name=Sub("${AWS::StackName}-spa"),
            AutoPublish=True,
            FunctionCode=SPA_FUNCTION,
            FunctionConfig=cf.FunctionConfig(
                Comment="route app paths to index.html", Runtime="cloudfront-js-2.0"
            ),
        )
    )
    waf = add_web_acl(t, key=key, condition=CREATE_WAF)
    site_headers = _security_headers(
        t,
        "Site",
        # The back office PUTs uploads to the models bucket with the catalog's presigned URLs.
        Sub(
            storefront_csp(S3_BUCKET_ORIGIN.format(bucket="${Bucket}", region="${AWS::Region}")),
            Bucket=Ref(buckets.models),
        ),
        "the storefront's page and files: what the page may load",
    )
    api_headers = _security_headers(t, "Api", API_CSP, "API answers: JSON, never a page")

    def s3_origin(origin_id: str, bucket: object) -> cf.Origin:
        return cf.Origin(
            Id=origin_id,
            DomainName=GetAtt(bucket, "RegionalDomainName"),
            OriginAccessControlId=GetAtt(oac, "Id"),
            S3OriginConfig=cf.S3OriginConfig(OriginAccessIdentity=""),
        )

    api_origin = cf.Origin(
        Id=API_ORIGIN,
        # With a certificate, CloudFront speaks HTTPS to origin.<domain> (an alias of the ALB
        # that the certificate covers); without one, HTTP to the ALB's own name.
        DomainName=If(
            HAS_CERTIFICATE,
            Sub("origin.${Domain}", Domain=Ref(params.domain_name)),
            GetAtt(balancers.public, "DNSName"),
        ),
        OriginCustomHeaders=[origin_header(balancers.origin_secret)],
        CustomOriginConfig=cf.CustomOriginConfig(
            OriginProtocolPolicy=If(HAS_CERTIFICATE, "https-only", "http-only"),
            OriginSSLProtocols=["TLSv1.2"],
            OriginReadTimeout=60,  # the most CloudFront allows; a model upload completes within
        ),
    )

    def behavior(
        pattern: str, origin: str, cache: str, methods: list[str], **extra: object
    ) -> cf.CacheBehavior:
        return cf.CacheBehavior(
            PathPattern=pattern,
            TargetOriginId=origin,
            ViewerProtocolPolicy="redirect-to-https",
            CachePolicyId=cache,
            AllowedMethods=methods,
            CachedMethods=["GET", "HEAD"],
            Compress=True,
            **extra,
        )

    distribution = t.add_resource(
        cf.Distribution(
            DISTRIBUTION,
            Metadata=accepted(
                (
                    "CKV_AWS_174",
                    "With CertificateArn the viewer certificate requires "
                    "TLSv1.2_2021; without one, CloudFront's default certificate allows no "
                    "minimum-version setting.",
                ),
            ),
            DistributionConfig=cf.DistributionConfig(
                Enabled=True,
                Comment=Sub("Pet Shore 3D ${Env}", Env=Ref(params.environment)),
                HttpVersion="http2and3",
                IPV6Enabled=True,
                PriceClass=Ref(params.price_class),
                DefaultRootObject="index.html",
                Aliases=If(HAS_DOMAIN, [Ref(params.domain_name)], NoValue),
                ViewerCertificate=If(
                    HAS_CERTIFICATE,
                    cf.ViewerCertificate(
                        AcmCertificateArn=Ref(params.certificate_arn),
                        SslSupportMethod="sni-only",
                        MinimumProtocolVersion="TLSv1.2_2021",
                    ),
                    cf.ViewerCertificate(CloudFrontDefaultCertificate=True),
                ),
                WebACLId=If(
                    HAS_WEB_ACL_ARN,
                    Ref(params.web_acl_arn),
                    If(CREATE_WAF, GetAtt(waf, "Arn"), NoValue),
                ),
                Logging=cf.Logging(
                    Bucket=GetAtt(buckets.logs, "DomainName"),
                    Prefix="cloudfront/",
                    IncludeCookies=False,
                ),
                Origins=[
                    s3_origin("site", buckets.site),
                    s3_origin("models", buckets.models),
                    api_origin,
                ],
                DefaultCacheBehavior=cf.DefaultCacheBehavior(
                    TargetOriginId="site",
                    ViewerProtocolPolicy="redirect-to-https",
                    CachePolicyId=CACHING_OPTIMIZED,
                    ResponseHeadersPolicyId=Ref(site_headers),
                    Compress=True,
                    FunctionAssociations=[
                        cf.FunctionAssociation(
                            EventType="viewer-request", FunctionARN=GetAtt(spa, "FunctionARN")
                        )
                    ],
                ),
                CacheBehaviors=[
                    # Model files and photos: immutable files, each path its key.
                    *(
                        behavior(
                            f"{prefix}*",
                            "models",
                            CACHING_OPTIMIZED,
                            ["GET", "HEAD", "OPTIONS"],
                            ResponseHeadersPolicyId=SECURITY_HEADERS,
                        )
                        for prefix in FILE_PATH_PREFIXES
                    ),
                    # Before /api/*: public catalog reads, briefly cached at the edge.
                    behavior(
                        f"{CATALOG.path_prefix}*",
                        API_ORIGIN,
                        Ref(_catalog_cache_policy(t)),
                        ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"],
                        OriginRequestPolicyId=ALL_VIEWER_EXCEPT_HOST,
                        ResponseHeadersPolicyId=Ref(api_headers),
                    ),
                    behavior(
                        f"{API_PATH_PREFIX}*",
                        API_ORIGIN,
                        CACHING_DISABLED,
                        ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"],
                        OriginRequestPolicyId=ALL_VIEWER_EXCEPT_HOST,
                        ResponseHeadersPolicyId=Ref(api_headers),
                    ),
                ],
            ),
        )
    )
    for record_type in ("A", "AAAA"):
        t.add_resource(
            route53.RecordSetType(
                f"StorefrontAlias{record_type}",
                Condition=HAS_DOMAIN,
                HostedZoneId=Ref(params.hosted_zone_id),
                Name=Ref(params.domain_name),
                Type=record_type,
                AliasTarget=route53.AliasTarget(
                    HostedZoneId=CLOUDFRONT_ZONE, DNSName=GetAtt(distribution, "DomainName")
                ),
            )
        )
    t.add_resource(
        route53.RecordSetType(
            "OriginAlias",
            Condition=HAS_DOMAIN,
            HostedZoneId=Ref(params.hosted_zone_id),
            Name=Sub("origin.${Domain}", Domain=Ref(params.domain_name)),
            Type="A",
            AliasTarget=route53.AliasTarget(
                HostedZoneId=GetAtt(balancers.public, "CanonicalHostedZoneID"),
                DNSName=GetAtt(balancers.public, "DNSName"),
            ),
        )
    )
    t.add_output(
        Output(
            "StorefrontUrl",
            Value=If(
                HAS_DOMAIN,
                Sub("https://${Domain}/", Domain=Ref(params.domain_name)),
                Join("", ["https://", GetAtt(distribution, "DomainName"), "/"]),
            ),
        )
    )
    t.add_output(Output("DistributionId", Value=Ref(distribution)))
    return distribution


def build_web_acl_template() -> Template:
    """The web ACL alone, for a storefront stack outside us-east-1 (where CloudFront's web
    ACLs cannot be made): deployed in us-east-1, its WebAclArn output is that stack's
    WebAclArn parameter."""
    t = Template(
        Description=f"Pet Shore 3D: the storefront's CloudFront web ACL (deploy in {WAF_REGION})"
    )
    t.set_version("2010-09-09")
    t.add_rule(
        "OnlyInItsRegion",
        {
            "Assertions": [
                {
                    "Assert": Equals(Ref("AWS::Region"), WAF_REGION),
                    "AssertDescription": f"CloudFront's web ACLs can only be made in {WAF_REGION}",
                }
            ]
        },
    )
    acl = add_web_acl(t)
    t.add_output(Output("WebAclArn", Value=GetAtt(acl, "Arn")))
    return t
