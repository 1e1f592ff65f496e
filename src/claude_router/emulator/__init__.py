"""An offline emulator of the Anthropic API, faithful enough that the official SDK cannot tell.

It shares no state with the router: it is a separate program that happens to live in the package.
"""
