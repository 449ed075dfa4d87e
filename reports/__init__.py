"""Acceptance certificates (reportlab), their signatures, and exports for an MES. No Qt."""
