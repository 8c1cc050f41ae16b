"""The production CloudFormation stack, composed from one module per concern.

`templates.stack.build_template()` is the table of contents; `build.py` only writes it out.
Values the running code must agree with come from `petshore.contract`."""
