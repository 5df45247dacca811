"""Alerts: raised once per cause by the scans, escalated up a site's ladder until someone acts."""
