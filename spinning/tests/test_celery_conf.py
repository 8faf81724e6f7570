"""A Celery worker waits longer for the broker than a web process (spinning/celery.py)."""

from types import SimpleNamespace

from spinning.celery import app, worker_rides_out_a_hung_broker


def test_a_worker_waits_for_a_hung_broker_and_a_web_process_does_not(settings):
    settings.CELERY_WORKER_BROKER_SOCKET_TIMEOUT = 60
    # the web processes publish with the short timeout of settings
    assert app.conf.broker_transport_options["socket_timeout"] == 5
    # a worker, at its start, waits up to a minute; the other options stay
    conf = SimpleNamespace(broker_transport_options=dict(app.conf.broker_transport_options))
    worker_rides_out_a_hung_broker(conf=conf)
    assert conf.broker_transport_options["socket_timeout"] == 60
    assert conf.broker_transport_options["socket_connect_timeout"] == 2
    assert app.conf.broker_transport_options["socket_timeout"] == 5
