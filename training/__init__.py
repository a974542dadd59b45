"""Training, evaluation, publishing and deployment of the sentiment model, and the
``sentiment`` command line."""
