"""Geography at the edge: the geocoder adapter (geopy)."""
