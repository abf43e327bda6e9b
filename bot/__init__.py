"""Chatbot for studying and following Hồ Chí Minh's thought, ethics and style (Directive 05)."""
