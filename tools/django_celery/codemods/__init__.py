"""The edits behind `/celery:setup` and `/celery:add-backend`, and the analysis the checks share with them.

Python files are changed with libcst (the user's formatting and comments survive), everything else with
surgical text edits. Every step reads through a `ProjectEdits` workspace and is idempotent: when the
project already has what a step would add, the step changes nothing.
"""
