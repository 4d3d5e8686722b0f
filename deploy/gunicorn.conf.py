"""gunicorn's configuration for the CRM (README, "Deploy"):

    gunicorn -c deploy/gunicorn.conf.py

run from the checkout with the environment of deploy/crm.env. ``--bind`` on the command line
overrides the address (``make serve`` does).
"""

import os

wsgi_app = "crm.wsgi:application"

# nginx in front proxies to this address (deploy/nginx-crm.conf, upstream crm).
bind = ["127.0.0.1:8000"]

# Sync workers: one request at a time each, one database connection each (CONN_MAX_AGE keeps
# it). WEB_CONCURRENCY sets how many; 2 x CPU cores + 1 when unset.
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * (os.cpu_count() or 1) + 1))

# A request has 60 seconds (a CSV export of a large filter, a JSON-RPC batch of 500 objects);
# a worker silent longer is killed and replaced. nginx waits a little longer for an answer
# (proxy_read_timeout 65s), so gunicorn's limit is the one that applies and is logged.
timeout = 60
# On a restart or stop (SIGTERM), requests in flight have 30 seconds to finish.
graceful_timeout = 30
# Each worker is replaced after about 1,000 requests (jitter so they do not restart together),
# which bounds any slow growth of a worker's memory.
max_requests = 1000
max_requests_jitter = 100

# Access log on stderr (journald under systemd): the peer (nginx) and the client (nginx's
# X-Real-IP), and the URL's path without the query string, where a JSON-RPC caller may have
# put its secretKey.
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s %({x-real-ip}i)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(f)s" "%(a)s"'
