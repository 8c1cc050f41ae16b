"""The local front door: nginx, configured from the routing table, plays the ALB (path
routing, health-checked balancing) and CloudFront (`/models/*` from S3, the storefront's static
files) on a developer's machine; this package renders its configuration and runs its health
checks."""
