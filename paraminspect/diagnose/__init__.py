"""Diagnoses over arrays and training runs: numpy only."""
