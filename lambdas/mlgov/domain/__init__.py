"""Pure domain logic: data in, data out; no boto3, no environment, no clock."""
