"""Nurses and families on the phone: the SMS grammar, the conversation, check-ins."""
