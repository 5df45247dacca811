"""The record of what happened: audit trail, deviations, patient timelines, job runs."""
