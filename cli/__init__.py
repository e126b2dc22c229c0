"""The command line (`shouhu`): a face over `services/`; `serve` runs the web app and the embedded Prefect server."""
