"""Diagnoses over checkpoints and training runs (numpy only): triage, trouble, shares."""
