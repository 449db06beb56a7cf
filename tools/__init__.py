"""Tools the agent's model calls, one module per concern, and the Django/Celery domain in `django_celery`."""
