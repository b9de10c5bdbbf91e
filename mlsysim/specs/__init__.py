"""Specs layer: hardware and model records, validated, each number with its source."""
