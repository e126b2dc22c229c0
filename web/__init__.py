"""The web app: REST API under /api/v1 (and, next, the server-rendered pages)."""
