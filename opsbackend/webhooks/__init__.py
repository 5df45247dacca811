"""Outbound webhook HTTP: which targets may be called (SSRF policy) and the signed POST."""
