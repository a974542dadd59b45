"""Offline stand-ins for AWS: each a server process on 127.0.0.1.

Nothing here imports the project's other packages: devstack stands where AWS stands, and
reaches the app over HTTP and through its handler's entry point.
"""
