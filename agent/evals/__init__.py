"""Evals: cases (fixture recipes + expected outcome), the runner and its report, transcript replay."""
