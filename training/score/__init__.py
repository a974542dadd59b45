"""Bulk scoring: read reviews, score them (locally or on Batch Transform), write rows."""
