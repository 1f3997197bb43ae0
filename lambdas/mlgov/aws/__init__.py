"""Adapters over boto3 and other outside data sources."""
