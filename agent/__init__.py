"""django-integrator runtime: definition loader, permissions, LangGraph phases and gates, models, CLI."""
