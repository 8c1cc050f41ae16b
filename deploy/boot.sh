#!/bin/bash
# Second stage of an instance's boot, run by the stack's UserData once the artifact is
# unpacked in /opt/petshore/app and /etc/petshore/<service>.env is written:
#   bash deploy/boot.sh <service> <log group>
# Installs the service into a virtualenv and runs it under systemd, its log shipped to
# CloudWatch Logs.
set -euo pipefail
service="$1"
log_group="$2"
app=/opt/petshore/app

dnf install -y -q amazon-cloudwatch-agent
# The services verify the database's certificate: trust the RDS certificate authorities.
curl -fsS -o /etc/pki/ca-trust/source/anchors/rds-global-bundle.pem \
  https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem
update-ca-trust
id petshore >/dev/null 2>&1 || useradd --system --home /opt/petshore --shell /sbin/nologin petshore
install -d -o petshore -g petshore /var/log/petshore
chgrp petshore "/etc/petshore/$service.env" && chmod 0640 "/etc/petshore/$service.env"

python3.11 -m venv /opt/petshore/venv
/opt/petshore/venv/bin/pip install --quiet --no-deps -r "$app/requirements.lock"
browsers=/opt/petshore/browsers
if [ "$service" = catalog ]; then
  # The model pipeline runs in Node.js (glTF-Transform, the Khronos validator, sharp), and
  # renders posters in headless Chromium: Playwright's build, with the libraries it needs.
  dnf install -y -q nodejs npm nss atk at-spi2-atk cups-libs libdrm libxkbcommon \
    libXcomposite libXdamage libXrandr libXfixes mesa-libgbm pango alsa-lib
  (cd "$app/services/catalog/pipeline" && npm ci --omit=dev --no-audit --no-fund)
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
