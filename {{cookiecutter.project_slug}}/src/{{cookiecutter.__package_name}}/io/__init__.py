"""Readers, writers and the MLflow adapter."""
