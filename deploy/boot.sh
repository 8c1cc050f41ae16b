#!/bin/bash
# Second stage of an instance's boot, run by the stack's UserData once the artifact is
# unpacked in /opt/petshore/app and /etc/petshore/<service>.env is written:
#   bash deploy/boot.sh <service> <log group>
# Installs the service into a virtualenv from the artifact alone (its wheels, and for the
# catalog the model pipeline's node_modules, for this machine's architecture: no PyPI, no npm),
# runs it under systemd, its log shipped to CloudWatch Logs, and tells CloudFormation once the
# service answers its own health check.
set -euo pipefail

# The env file is systemd's format, not shell: read one variable without running the file.
env_value() {
  sed -n "s/^$2=//p" "$1" | tail -n 1
}

instance_id() {
  local token
  token=$(curl -fsS -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 60" \
    http://169.254.169.254/latest/api/token)
  curl -fsS -H "X-aws-ec2-metadata-token: $token" \
    http://169.254.169.254/latest/meta-data/instance-id
}

# signal <env file> <SUCCESS|FAILURE>: tell CloudFormation about this instance.
signal() {
  local env_file="$1" status="$2" stack region
  stack=$(env_value "$env_file" PETSHORE_STACK_NAME)
  region=$(env_value "$env_file" AWS_DEFAULT_REGION)
  if [ -z "$stack" ]; then
    echo "PETSHORE_STACK_NAME is empty: not signalling CloudFormation"
    return 0
  fi
  aws cloudformation signal-resource ${region:+--region "$region"} --stack-name "$stack" \
    --logical-resource-id "$(env_value "$env_file" PETSHORE_SIGNAL_RESOURCE)" \
    --unique-id "$(instance_id)" --status "$status"
}

# signal_when_healthy <service> <env file> <seconds>: wait that long at most for the service's
# health check on this instance, then report SUCCESS or FAILURE to CloudFormation, whose
# creation and rolling-update policies wait for each new instance's word. Fails if unhealthy.
signal_when_healthy() {
  local service="$1" env_file="$2" seconds="$3"
  local url status=FAILURE started=$SECONDS
  url="http://127.0.0.1:$(env_value "$env_file" PETSHORE_PORT)/api/$service/health"
  while [ $((SECONDS - started)) -lt "$seconds" ]; do
    if [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$url")" = 200 ]; then
      status=SUCCESS
      break
    fi
    sleep 2
  done
  echo "petshore-$service health after $((SECONDS - started)) s: $status"
  signal "$env_file" "$status"
  [ "$status" = SUCCESS ]
}

# Sourced (by tests/service/test_artifact.py) for the functions above; run, it boots.
[ "${BASH_SOURCE[0]}" = "$0" ] || return 0

service="$1"
log_group="$2"
app=/opt/petshore/app
arch=$(uname -m)
# A boot that fails on the way (an install, the agent) says so at once: the release rolls
# back now rather than after the signal timeout.
trap 'signal "/etc/petshore/$service.env" FAILURE' ERR

# What the AMI lacks comes from AWS's own AL2023 repositories, which the instance reaches
# through the VPC's S3 gateway endpoint, not the NAT.
dnf install -y -q amazon-cloudwatch-agent
# The services verify the database's certificate: trust the RDS certificate authorities.
curl -fsS -o /etc/pki/ca-trust/source/anchors/rds-global-bundle.pem \
  https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem
update-ca-trust
id petshore >/dev/null 2>&1 || useradd --system --home /opt/petshore --shell /sbin/nologin petshore
install -d -o petshore -g petshore /var/log/petshore
chgrp petshore "/etc/petshore/$service.env" && chmod 0640 "/etc/petshore/$service.env"

python3.11 -m venv /opt/petshore/venv
/opt/petshore/venv/bin/pip install --quiet --no-index --find-links "$app/vendor/wheels/any" \
  --find-links "$app/vendor/wheels/$arch" -r "$app/requirements.lock"
browsers=/opt/petshore/browsers
if [ "$service" = catalog ]; then
  # The model pipeline runs in Node.js (glTF-Transform, the Khronos validator, sharp: their
  # packages are in the artifact), and renders posters in headless Chromium: Playwright's
  # build, which it downloads from its own host through the NAT, with the libraries it needs.
  dnf install -y -q nodejs nss atk at-spi2-atk cups-libs libdrm libxkbcommon \
    libXcomposite libXdamage libXrandr libXfixes mesa-libgbm pango alsa-lib
  modules="$app/services/catalog/pipeline/node_modules"
  install -d "$modules"
  cp -a "$app/vendor/node/any/." "$app/vendor/node/$arch/." "$modules/"
  PLAYWRIGHT_BROWSERS_PATH=$browsers /opt/petshore/venv/bin/python -m playwright install chromium
fi

cat > "/etc/systemd/system/petshore-$service.service" <<UNIT
[Unit]
Description=Pet Shore 3D $service service
After=network-online.target
Wants=network-online.target

[Service]
User=petshore
WorkingDirectory=$app
EnvironmentFile=/etc/petshore/$service.env
Environment=PLAYWRIGHT_BROWSERS_PATH=$browsers
ExecStart=/opt/petshore/venv/bin/python -m deploy.run $service
Restart=on-failure
RestartSec=5
StandardOutput=append:/var/log/petshore/$service.log
StandardError=append:/var/log/petshore/$service.log
NoNewPrivileges=true
ProtectSystem=strict
ReadWritePaths=/var/log/petshore
ProtectHome=true
PrivateTmp=true

[Install]
WantedBy=multi-user.target
UNIT

agent=/opt/aws/amazon-cloudwatch-agent
cat > "$agent/etc/amazon-cloudwatch-agent.json" <<AGENT
{"logs": {"logs_collected": {"files": {"collect_list": [
  {"file_path": "/var/log/petshore/$service.log", "log_group_name": "$log_group",
   "log_stream_name": "{instance_id}"}]}}}}
AGENT
"$agent/bin/amazon-cloudwatch-agent-ctl" -a fetch-config -m ec2 -s \
  -c "file:$agent/etc/amazon-cloudwatch-agent.json"

systemctl daemon-reload
systemctl enable --now "petshore-$service.service"
trap - ERR
signal_when_healthy "$service" "/etc/petshore/$service.env" 300
