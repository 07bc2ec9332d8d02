-- natscoro's PostgreSQL transactional outbox, schema version 1.
--
-- postgres_outbox::open() applies this file when its option create_schema is on
-- (the default); or run it yourself (psql -f) as a role that may create tables.
-- It can run any number of times, by several services at once.
--
-- Your transaction writes an event with the statement postgres_outbox::stage() runs:
--   INSERT INTO natscoro_outbox (event_id, subject, headers, body) VALUES ($1, $2, $3, $4)
--   event_id  unique per event: the stream stores one message per Nats-Msg-Id
--   subject   where the relay publishes it (a server or reply subject is refused)
--   headers   a NATS header block ('NATS/1.0\r\nName: value\r\n\r\n'), or empty
--   body      the message bytes (a CloudEvent, or whatever the consumers read)
-- The relay publishes rows in seq order, removes each after its PubAck, and marks
-- a row it can never publish with the reason in `refused` (it stays, for you).
BEGIN;
SELECT pg_advisory_xact_lock(hashtext('natscoro schema'));

CREATE TABLE IF NOT EXISTS natscoro_schema (
  component text    PRIMARY KEY,
  version   integer NOT NULL
);

CREATE TABLE IF NOT EXISTS natscoro_outbox (
  seq        bigserial   PRIMARY KEY,
  event_id   text        NOT NULL CHECK (event_id <> '' AND length(event_id) <= 256),
  subject    text        NOT NULL CHECK (subject <> ''),
  headers    bytea       NOT NULL DEFAULT '',
  body       bytea       NOT NULL,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  refused    text
);

-- The relays' claims walk this index in seq order (refused rows are not in it).
CREATE INDEX IF NOT EXISTS natscoro_outbox_pending ON natscoro_outbox (seq) WHERE refused IS NULL;

-- Wakes the relays when a transaction that wrote events commits (one
-- notification per transaction; the relays also look every poll_interval).
CREATE OR REPLACE FUNCTION natscoro_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('natscoro_outbox', '');
  RETURN NULL;
END
$$;
CREATE OR REPLACE TRIGGER natscoro_outbox_notify
  AFTER INSERT ON natscoro_outbox FOR EACH STATEMENT EXECUTE FUNCTION natscoro_outbox_notify();

INSERT INTO natscoro_schema (component, version) VALUES ('outbox', 1) ON CONFLICT (component) DO NOTHING;
COMMIT;
