"""The four stage flows. Each takes only a command id: no personal data reaches Prefect."""

from shouhu import running

# Prefect reads its settings when first imported, and every flow module imports it.
running.prepare_prefect_environment()
