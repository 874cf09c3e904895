"""Tests of the Gemini Live emulator and schemas/gemini.py."""
