"""What the trial's other systems get: signed outbound webhooks and the FHIR R4 export."""
