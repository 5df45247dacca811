"""Domain rules: plain functions over a session and a clock. No Flask, no Twilio."""
