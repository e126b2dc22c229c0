"""Notifications: rendered from templates without personal data and queued in the outbox."""
