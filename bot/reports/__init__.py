"""Participation reports: figures from the store, then text, CSV, XLSX and a PNG chart."""
