"""Checkpoint triage: classify, measure, order and diagnose arrays (numpy only)."""
