"""Per-region constants AWS publishes but CloudFormation cannot look up: CloudFront's
origin-facing prefix list and the Elastic Load Balancing account that writes access logs."""

from __future__ import annotations

from troposphere import FindInMap, Ref, Template

REGION_MAP = "RegionMap"
PREFIX_LIST = "CloudFrontPrefixList"
ELB_ACCOUNT = "ElbLogAccount"

# (prefix list, ELB log-delivery account) per region, from the AWS documentation.
_REGIONS = {
    "us-east-1": ("pl-3b927c52", "127311923021"),
    "us-east-2": ("pl-b6a144df", "033677994240"),
    "us-west-1": ("pl-4ea04527", "027434742980"),
    "us-west-2": ("pl-82a045eb", "797873946194"),
    "eu-west-1": ("pl-4fa04526", "156460612806"),
    "eu-west-2": ("pl-93a247fa", "652711504416"),
    "eu-central-1": ("pl-a3a144ca", "054676820928"),
    "ap-southeast-1": ("pl-31a34658", "114774131450"),
    "ap-southeast-2": ("pl-b8a742d1", "783225319266"),
    "ap-northeast-1": ("pl-58a04531", "582318560864"),
}


def add_region_map(t: Template) -> None:
    t.add_mapping(
        REGION_MAP,
        {r: {PREFIX_LIST: pl, ELB_ACCOUNT: acct} for r, (pl, acct) in _REGIONS.items()},
    )


def region_value(key: str) -> FindInMap:
    return FindInMap(REGION_MAP, Ref("AWS::Region"), key)
