"""The HTTP API: ``create_app`` (app.py) assembles one router per resource, typed dependencies (deps.py),
request and response schemas, bearer-key checks and the exception-to-status table."""
