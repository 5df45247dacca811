"""What goes out by SMS: the outbox, its texts, reminders and family notices."""
