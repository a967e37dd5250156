"""gunicorn's settings for the example shop, read by ``gunicorn shop.wsgi`` run here.

On SIGTERM, gunicorn's master tells each worker to stop; a worker finishes its requests and
exits normally, and at that exit the BackgroundSender delivers what it holds, within its
``close_timeout`` (10 s by default). The master SIGKILLs a worker still running
``graceful_timeout`` seconds after telling it to stop: what the sender holds then is lost,
unreported. So ``graceful_timeout`` must exceed ``close_timeout``, with a margin for the
requests still being served.
"""

bind = "127.0.0.1:8000"
workers = 2
graceful_timeout = 15  # > BackgroundSender's close_timeout (10 s) + a margin
