"""Printable documents the bot sends in chat (DOCX), built from plain data."""
