-- Who holds a message being sent. Every process that sends registers itself here under a
-- random id, with where it runs (`host`, for people; `pid_space`, the kernel boot and PID
-- namespace its `pid` means something in) and the start time of that pid, and refreshes
-- `heartbeat_at` every few seconds while it sends. A claim names its holder, so a row left in
-- 'sending' by a process that is gone (same `pid_space` and that process no longer exists, or
-- no heartbeat for a while) is taken up at once instead of after its lease.
CREATE TABLE outbox_holder (
    id            TEXT PRIMARY KEY,
    host          TEXT NOT NULL,
    pid_space     TEXT,
    pid           INTEGER NOT NULL,
    pid_started   INTEGER,
    started_at    TEXT NOT NULL,
    heartbeat_at  TEXT NOT NULL
);

-- The `outbox_holder` that claimed a row in 'sending' (NULL for claims made before this
-- migration: those wait out their lease).
ALTER TABLE outbox ADD COLUMN holder TEXT;
