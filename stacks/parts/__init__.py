"""Reusable CDK building blocks shared by the mlgov stacks."""
