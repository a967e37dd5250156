"""The client's machinery, below :mod:`snapcapi.client` (which composes it for each call).

Who calls whom, top down; nothing here imports :mod:`snapcapi.client`::

    client.Client ── options, lifecycle, send/validate/validation_logs/validation_stats
      │ composes, per call:
      ├─ _pipeline.SendPipeline   read events lazily, batch, requests in flight, result store,
      │    │                      stop early; raises a delivery's stop once, with .result
      │    ├─ _prepare.Preparer   check and encode one event, pick its asset id
      │    ├─ _batching.Batcher   split into request-sized batches per asset id
      │    └─ deliver(batch) ──> _delivery.BatchDelivery
      │                             post, judge, act: settle, re-send past a named culprit,
      │                             split a 413, isolate unnamed culprits within a budget;
      │                             returns Delivered(settled, stop): results, and
      │                             a results.ResultRun per request accepted whole
      │                               ├─ _judge.judge(Response, n) -> Verdict    (pure)
      │                               │    └─ _answers.read_answer(body, headers) (pure)
      │                               └─ post(asset_id, body) ──> _http.HttpTransport.request
      │                                    retries per _retry.RetryPolicy within a
      │                                    deadline, token from _auth.TokenSource
      │                                    (refreshed once after a 401), redaction at the
      │                                    boundary (_redact); each answer read within its
      │                                    time and a 4 MiB cap (_bounded)
      └─ _judge.get_body, _judge.api_error, _answers.read_logs / read_stats   the two GETs

``_wire`` encodes JSON bodies (orjson with the ``fast`` extra); ``_fork`` renews the session
and the token lock in a forked child (one hook, installed by the first client).
"""
