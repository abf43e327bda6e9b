"""Everything the bot pushes: the outbox sender, its rate limiter, and the reminder scheduler."""
