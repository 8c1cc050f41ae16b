"""What runs on a service instance in AWS (installed from the artifact by the boot script)."""
