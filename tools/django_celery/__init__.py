"""The Django/Celery domain: project discovery, libcst codemods behind the slash commands, checks."""
