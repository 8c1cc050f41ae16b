#!/bin/bash
# Second stage of an instance's boot, run by the stack's UserData once the artifact is
# unpacked in /opt/petshore/app and /etc/petshore/<name>.env is written:
#   bash deploy/boot.sh <service|modelworker> <log group>
# Installs a service, or the model worker, into a virtualenv from the artifact alone (the
# wheels of its lock file, and for the worker the model pipeline's node_modules, for this
# machine's architecture: no PyPI, no npm), runs it under systemd, its log shipped to
# CloudWatch Logs, and tells CloudFormation once it works: a service once it answers its own
# health check, the worker once `python -m modelworker check` passes (Node.js, Chromium and
# its queues within reach).
set -euo pipefail

app=/opt/petshore/app
worker=modelworker

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

# signal_when <name> <env file> <seconds> <command...>: run the command every 2 s, for that
# long at most, until it succeeds; then report SUCCESS or FAILURE to CloudFormation, whose
# creation and rolling-update policies wait for each new instance's word. Fails if it never
# succeeded.
signal_when() {
  local name="$1" env_file="$2" seconds="$3" status=FAILURE started=$SECONDS
  shift 3
  while [ $((SECONDS - started)) -lt "$seconds" ]; do
    if "$@"; then
      status=SUCCESS
      break
    fi
    sleep 2
  done
  echo "petshore-$name ready after $((SECONDS - started)) s: $status"
  signal "$env_file" "$status"
  [ "$status" = SUCCESS ]
}

# healthy <service> <env file>: the service answers its health check on this instance.
healthy() {
  local url
  url="http://127.0.0.1:$(env_value "$2" PETSHORE_PORT)/api/$1/health"
  [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$url")" = 200 ]
}

# worker_ready <env file>: the model worker's own check, run as its unit runs it (user,
# settings).
worker_ready() {
  systemd-run --quiet --wait --pipe --collect -p User=petshore -p "EnvironmentFile=$1" \
    -p "WorkingDirectory=$app" /opt/petshore/venv/bin/python -m "$worker" check
}

# signal_when_healthy <service> <env file> <seconds>
signal_when_healthy() {
  signal_when "$1" "$2" "$3" healthy "$1" "$2"
}

# signal_when_ready <env file> <seconds>: the same for the model worker.
signal_when_ready() {
  signal_when "$worker" "$1" "$2" worker_ready "$1"
}

# Sourced (by tests/service/test_artifact.py) for the functions above; run, it boots.
[ "${BASH_SOURCE[0]}" = "$0" ] || return 0

service="$1"
log_group="$2"
arch=$(uname -m)
# A boot that fails on the way (an install, the agent) says so at once: the release rolls
# back now rather than after the signal timeout.
trap 'signal "/etc/petshore/$service.env" FAILURE' ERR

# What the AMI lacks comes from AWS's own AL2023 repositories, which the instance reaches
# through the VPC's S3 gateway endpoint, not the NAT.
dnf install -y -q amazon-cloudwatch-agent
if [ "$service" = "$worker" ]; then
  # The services' wheels and the model worker's 3D libraries (trimesh, numpy, Pillow,
  # Playwright).
  lock=requirements-$worker.lock
else
  # No 3D library: the services hand models to the worker.
  lock=requirements.lock
  # The services verify the database's certificate: trust the RDS certificate authorities
  # (from the artifact, like everything else it installs).
  install -m 0644 "$app/vendor/rds-ca-bundle.pem" \
    /etc/pki/ca-trust/source/anchors/rds-ca-bundle.pem
  update-ca-trust
fi
id petshore >/dev/null 2>&1 || useradd --system --home /opt/petshore --shell /sbin/nologin petshore
install -d -o petshore -g petshore /var/log/petshore
chgrp petshore "/etc/petshore/$service.env" && chmod 0640 "/etc/petshore/$service.env"

python3.11 -m venv /opt/petshore/venv
/opt/petshore/venv/bin/pip install --quiet --no-index --find-links "$app/vendor/wheels/any" \
  --find-links "$app/vendor/wheels/$arch" -r "$app/$lock"
if [ "$service" = "$worker" ]; then
  # The model pipeline runs in Node.js (glTF-Transform, the Khronos validator, sharp: their
  # packages are in the artifact), and renders posters in headless Chromium: the build for
  # Amazon Linux 2023 in those packages (@sparticuz/chromium, with its own libraries, fonts
  # and SwiftShader), unpacked where the stack's PETSHORE_POSTER_CHROMIUM says. Nothing is
  # downloaded but Node.js and the libraries Chromium shares with the system, from AL2023.
  dnf install -y -q nodejs nss atk at-spi2-atk cups-libs libdrm libxkbcommon \
    libXcomposite libXdamage libXrandr libXfixes mesa-libgbm pango alsa-lib
  modules="$app/$worker/node_modules"
  install -d "$modules"
  cp -a "$app/vendor/node/any/." "$app/vendor/node/$arch/." "$modules/"
  chromium=$(env_value "/etc/petshore/$service.env" PETSHORE_POSTER_CHROMIUM)
  (cd "$app" && /opt/petshore/venv/bin/python -m "$worker.chromium" "$(dirname "$chromium")")
fi

# unit <unit name> <deploy.run arguments...>: a systemd unit that runs `python -m deploy.run`
# with them, its output in /var/log/petshore/<unit name>.log.
unit() {
  local name="$1"
  shift
  cat > "/etc/systemd/system/petshore-$name.service" <<UNIT
[Unit]
Description=Pet Shore 3D $name
After=network-online.target
Wants=network-online.target

[Service]
User=petshore
WorkingDirectory=$app
EnvironmentFile=/etc/petshore/$service.env
ExecStart=/opt/petshore/venv/bin/python -m deploy.run $*
Restart=on-failure
RestartSec=5
StandardOutput=append:/var/log/petshore/$name.log
StandardError=append:/var/log/petshore/$name.log
NoNewPrivileges=true
ProtectSystem=strict
ReadWritePaths=/var/log/petshore
ProtectHome=true
PrivateTmp=true

[Install]
WantedBy=multi-user.target
UNIT
}

# The service, and the workers that run beside it (the orders service's mail sender), each
# under its own unit and log.
units=("$service")
unit "$service" "$service"
# Its own line, so that a failure stops the boot (set -e) rather than skipping the workers.
workers=$(cd "$app" && /opt/petshore/venv/bin/python -m deploy.run --workers "$service")
for beside in $workers; do
  units+=("$service-$beside")
  unit "$service-$beside" "$service" "$beside"
done

agent=/opt/aws/amazon-cloudwatch-agent
collected=()
for name in "${units[@]}"; do
  collected+=("{\"file_path\": \"/var/log/petshore/$name.log\", \"log_group_name\": \"$log_group\", \"log_stream_name\": \"{instance_id}/$name\"}")
done
cat > "$agent/etc/amazon-cloudwatch-agent.json" <<AGENT
{"logs": {"logs_collected": {"files": {"collect_list": [$(IFS=,; echo "${collected[*]}")]}}}}
AGENT
"$agent/bin/amazon-cloudwatch-agent-ctl" -a fetch-config -m ec2 -s \
  -c "file:$agent/etc/amazon-cloudwatch-agent.json"

systemctl daemon-reload
for name in "${units[@]}"; do
  systemctl enable --now "petshore-$name.service"
done
trap - ERR
if [ "$service" = "$worker" ]; then
  signal_when_ready "/etc/petshore/$service.env" 300
else
  signal_when_healthy "$service" "/etc/petshore/$service.env" 300
fi
