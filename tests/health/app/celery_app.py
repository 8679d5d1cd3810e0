"""A minimal Celery app for the broker worker-ping test (broker: the session Redis)."""

import os

from celery import Celery

app = Celery("health_test", broker=os.environ["HEALTH_TEST_REDIS_URL"])
app.conf.broker_connection_retry_on_startup = True
