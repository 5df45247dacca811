"""Who and what the system knows: sites, patients and homes, nurses, units and shifts, tokens."""
