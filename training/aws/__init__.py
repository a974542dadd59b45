"""The AWS path: SageMaker deploy (low and high level, real-time and serverless), publish,
listing and teardown of the project's endpoints, SageMaker training jobs, and API Gateway's
own limits.

Every function here takes its boto3 clients as arguments (see :mod:`training.aws.clients`
for the lazily built defaults), so the same code runs against AWS, against moto's server
(``sentiment up`` and the tests), and against botocore's Stubber. The SageMaker SDK is
imported only inside the functions that need it (the ``aws`` extra).
"""
