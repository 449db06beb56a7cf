"""The one error discovery raises: what is wrong with the project as found, and how the user fixes it.

It lives in its own module so the interpreter finder, the settings map and the probe runner can all raise
it without importing `discovery` (which imports them).
"""

from __future__ import annotations


class DiscoveryError(ValueError):
    """The project cannot be discovered; the message names the problem AND the fix."""
