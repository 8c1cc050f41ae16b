"""Build what a deployment needs into dist/:

dist/petshore.json            the CloudFormation template (dist/petshore.min.json minified)
dist/petshore-web-acl.json    the web ACL alone, made in us-east-1 for a stack elsewhere
dist/petshore-artifact.tar.gz the services and every package they run with, for x86_64 and
                              arm64 instances: they boot from it with no package registry
dist/functions/database-logins-<hash>.zip
                              the database logins function's code, under the name the
                              template reads it by from ArtifactBucket (petshore/functions/)

python build.py && aws cloudformation deploy --template-file dist/petshore.json ...
python build.py --template    the template only (what `make run` and `make test` need)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from templates.artifact import build_artifact
from templates.dependencies import DependencyError
from templates.edge import build_web_acl_template
from templates.function_zip import write_zip
from templates.stack import build_template

DIST = Path(__file__).resolve().parent / "dist"


def _write_templates() -> int:
    """The stack's templates into dist/: how many resources the stack has."""
    template = json.loads(build_template().to_json())
    (DIST / "petshore.json").write_text(json.dumps(template, indent=2, sort_keys=True) + "\n")
    (DIST / "petshore.min.json").write_text(json.dumps(template, separators=(",", ":")))
    web_acl = json.loads(build_web_acl_template().to_json())
    (DIST / "petshore-web-acl.json").write_text(
        json.dumps(web_acl, indent=2, sort_keys=True) + "\n"
    )
    return len(template["Resources"])


def main() -> int:
    parser = argparse.ArgumentParser(description="Build what a deployment needs into dist/.")
    parser.add_argument("--template", action="store_true", help="the template only")
    args = parser.parse_args()
    DIST.mkdir(exist_ok=True)
    try:
        # The template names the database logins function's zip by its hash, so rendering it
        # needs the zip's packages and the RDS certificates too.
        written = f"{DIST / 'petshore.json'} ({_write_templates()} resources)"
        if args.template:
            print(f"wrote {written}")
            return 0
        logins = write_zip(DIST)
        artifact = build_artifact(DIST / "petshore-artifact.tar.gz")
    except DependencyError as error:
        print(f"build.py: {error}", file=sys.stderr)
        return 1
    print(f"wrote {written}, {logins} and {artifact}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
