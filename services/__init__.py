"""Capabilities the faces (`cli/`, `web/`) call: one module per capability, public names only.

Below: `flows/`, `tasks/`, `notifications/`, `shouhu/` (the ground floor), `models/`.
"""
