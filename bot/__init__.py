"""Vestry: recognition for the people around an open-source project, in Discord."""

__version__ = "0.1.0"
