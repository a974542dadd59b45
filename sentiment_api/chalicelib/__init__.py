"""The sentiment API's working parts; ``app.py`` only routes to them.

Modules: ``settings`` (environment, read once), ``errors`` (what can go wrong and its HTTP
status), ``requests`` (parsing bodies), ``endpoint`` (SageMaker runtime adapter),
``control`` (SageMaker control plane adapter, read-only), ``service`` (predict, batch and
health), ``refresh`` (the S3 handler's promotion logic), ``responses`` (CORS, errors and the
per-request log line).

Nothing here imports boto3 at module level: the Lambda's cold start pays for it only when a
client is first built.
"""
