"""SMS providers: Twilio, and the console for local runs. Only the outbox sender calls them."""
