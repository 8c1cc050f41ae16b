"""Build what a deployment needs into dist/:

dist/petshore.json            the CloudFormation template (dist/petshore.min.json minified)
dist/petshore-artifact.tar.gz the services, as the instances install them

python build.py && aws cloudformation deploy --template-file dist/petshore.json ...
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from templates.artifact import build_artifact
from templates.stack import build_template

DIST = Path(__file__).resolve().parent / "dist"


def main() -> int:
    DIST.mkdir(exist_ok=True)
    template = json.loads(build_template().to_json())
    (DIST / "petshore.json").write_text(json.dumps(template, indent=2, sort_keys=True) + "\n")
    (DIST / "petshore.min.json").write_text(json.dumps(template, separators=(",", ":")))
    artifact = build_artifact(DIST / "petshore-artifact.tar.gz")
    print(f"wrote {DIST / 'petshore.json'} ({len(template['Resources'])} resources) and {artifact}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
