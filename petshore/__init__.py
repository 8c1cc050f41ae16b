"""Code shared by the Pet Shore 3D services, the gateway and the templates.

`petshore.contract` holds every value that must agree between CloudFormation and the code and
imports nothing beyond the standard library, so `templates/` can use it without pulling in
service dependencies.
"""
