"""CDK stacks and constructs that deploy mlgov."""
