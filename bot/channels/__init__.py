"""Channel adapters: turn platform events into Incoming and render Replies. No business rules."""
