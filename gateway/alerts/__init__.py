"""Alerts that reach people (docs/alerts.md).

- what an alert, a transition and a queued notification are: `gateway/store/alert_rows.py`;
- `lifecycle.py`: pure rules: which transitions a set of conditions makes (fire, resolve,
  chattering, silences), who must be told by escalation, and when a recipient's pending
  notifications go out and grouped how (group wait and interval, repeat, quiet hours, flood);
- `quiet.py`: quiet hours in a recipient's time zone, across daylight-saving changes;
- `sources.py`: the conditions now: signals' alerts, scope roll-ups and the fleet's health;
- `config.py`: alerts.toml (recipients, channels, sources' severities and limits);
- `evaluator.py`: the gateway's thread that records transitions and queues them;
- `compose.py`: a message's words, links and single-use acknowledgement tokens;
- `channels.py`: one channel URL through Apprise, with a timeout and a verdict;
- `channel_check.py`: Apprise's verdict on URLs, asked in a short-lived child process;
- `stats.py`: alerts per day, time in a flood, top sources (`eil alerts stats`);
- `sender.py`: the sender process, which delivers the queue (never ingest, never signals).

The durable part (history, silences, the notification outbox) is `gateway/store/alert_book.py`.
"""
