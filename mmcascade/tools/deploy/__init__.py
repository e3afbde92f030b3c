"""Deployment tools (``mmcascade export``)."""
