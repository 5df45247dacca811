"""The scheduler process (APScheduler) and the jobs it runs. See README.md."""
