"""The local front door: plays the ALB (path routing, health-checked balancing) and
CloudFront (`/models/*` from S3, the storefront's static files) on a developer's machine."""
