"""Thin Lambda entry points: parse, call the domain, act."""
