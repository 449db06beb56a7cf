"""`django-integrator chat`: the interactive terminal session (prompt_toolkit input, rich output).

Imported only by the `chat` command, so `--help` and the other commands never load the terminal libraries.
"""

from agent.chat.start import chat

__all__ = ["chat"]
