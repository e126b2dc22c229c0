"""The four stage flows. Each takes only a command id: no personal data reaches Prefect."""
