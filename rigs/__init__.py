"""Rig files shipped with the framework (package data, so the built-in virtual bench
is found in a user's own test repository too)."""
