"""Twilio's webhooks: inbound SMS, voice keypad check-ins, delivery status callbacks."""
