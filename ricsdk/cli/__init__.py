"""The ``ricsdk`` command line: thin click commands over library functions (entry point :func:`main.main`)."""
