"""The first stage of an instance's boot: fetch and unpack the artifact, write the
configuration of the service (or the model worker) it runs, and hand over to
`deploy/boot.sh` in the artifact (which installs it and runs it under systemd). Kept short:
the template must stay small, and the rest is versioned with the code it installs."""

from __future__ import annotations

from troposphere import Base64, Sub

SCRIPT = r"""#!/bin/bash
set -euo pipefail
exec > >(tee -a /var/log/petshore-boot.log | logger -t petshore-boot) 2>&1
dnf install -y -q python3.11
mkdir -p /opt/petshore/app && install -d -m 0750 /etc/petshore
artifact="s3://${ArtifactBucket}/${ArtifactKey}"
if ! aws s3 cp --only-show-errors "$artifact" /opt/petshore/artifact.tar.gz; then
  echo "FATAL: cannot read the artifact $artifact: run 'python build.py', upload" \
    "dist/petshore-artifact.tar.gz and set ArtifactBucket/ArtifactKey" >&2
  exit 1
fi
tar -xzf /opt/petshore/artifact.tar.gz -C /opt/petshore/app
cat > /etc/petshore/${ServiceName}.env <<ENV
${EnvironmentLines}
ENV
exec bash /opt/petshore/app/deploy/boot.sh ${ServiceName} ${LogGroup}
"""


def user_data(name: str, environment: dict[str, object], values: dict[str, object]) -> Base64:
    """`name`: the service's (or the worker's); `environment`: its variables (names from
    `petshore.contract.Env`); `values`: the other placeholders of SCRIPT (artifact location,
    log group)."""
    lines = "\n".join(f"{name}=${{{_placeholder(name)}}}" for name in environment)
    script = SCRIPT.replace("${EnvironmentLines}", lines)
    variables = {
        "ServiceName": name,
        **values,
        **{_placeholder(name): value for name, value in environment.items()},
    }
    return Base64(Sub(script, **variables))


def _placeholder(env_name: str) -> str:
    return "Env" + "".join(part.capitalize() for part in env_name.lower().split("_"))
