"""Bulk invitations from a CSV file (issue 12): upload, preview, send in the background."""
