"""Shouhu (守护): the four-step child-protection mechanism as persistent case pipelines."""
