"""One module per ``sentiment`` subcommand: ``configure(parser)`` and ``run(args)``."""
