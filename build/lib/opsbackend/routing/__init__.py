"""Travel times and vehicle routing: pure code, no Flask, no database."""
