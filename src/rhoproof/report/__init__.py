"""Figures and reports: the only stage besides the CLI that writes files."""
