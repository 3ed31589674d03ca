"""A local EventBridge EventsV2 endpoint: what the devstack and the tests need of ``eventbridgev2``, over real HTTP.

moto has no EventsV2, so this package stands in for it: a threaded HTTP server speaking the Smithy RPC v2 CBOR
protocol exactly as botocore 1.44.8's ``eventbridgev2`` client does (``POST /service/AWSEventsV2/operation/<Op>``,
CBOR bodies, ``__type`` errors), so boto3 talks to it through ``AWS_ENDPOINT_URL_EVENTBRIDGEV2`` or
``endpoint_url`` with no special casing.

- :mod:`devstack.eventsv2.store`: buses, their stored events (per-bus sequence, retention, deduplication window)
  and subscribers (filters with moto's event-pattern matcher, FIFO / UNORDERED, starting positions);
- :mod:`devstack.eventsv2.delivery`: one thread per subscriber delivering to its SQS queue in the AWS emulator
  (a FIFO queue gets ``MessageGroupId`` = the event's group), with retries and an on-failure queue;
- :mod:`devstack.eventsv2.server`: the HTTP server and the CBOR codec;
- ``python -m devstack.eventsv2``: the endpoint on its own (the bridge's component tests use it that way).

What it does not emulate is listed in docs/DEVSTACK.md ("The local EventsV2 endpoint").
"""
