"""The sentiment API's working parts; ``app.py`` only routes to them.

Modules: ``settings`` (environment, read once), ``errors`` (what can go wrong and its HTTP
status), ``parsing`` (request bodies), ``clients`` (lazy boto3 clients), ``wiring`` (the
process's collaborators, one ``reset()``), ``endpoint`` (SageMaker runtime adapter),
``service`` (predict, batch and health), ``refresh`` (the S3 handler's promotion logic),
``responses`` (CORS, errors and the per-request log line).

Nothing here imports boto3 at module level: the Lambda's cold start pays for it only when a
client is first built.
"""
