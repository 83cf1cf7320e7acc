"""Versioned schema migrations for the codetap database.

``MIGRATIONS[i]`` upgrades a database from ``user_version == i`` to ``i + 1``. Never edit
a released migration; append a new one.
"""

from __future__ import annotations

MIGRATIONS: list[str] = [
    # 0 -> 1: tasks, the append-only journal, per-step checkpoints, suggestions.
    """
    CREATE TABLE tasks (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        intent      TEXT NOT NULL,
        state       TEXT NOT NULL,
        root        TEXT NOT NULL,
        worktree    TEXT,
        branch      TEXT NOT NULL DEFAULT '',
        base_commit TEXT NOT NULL DEFAULT '',
        tip_commit  TEXT,
        scope       TEXT,
        model       TEXT NOT NULL DEFAULT '',
        workflow    TEXT NOT NULL DEFAULT 'default',
        steps       INTEGER NOT NULL DEFAULT 0,
        input_tokens  INTEGER NOT NULL DEFAULT 0,
        output_tokens INTEGER NOT NULL DEFAULT 0,
        cost_usd    REAL NOT NULL DEFAULT 0,
        created_at  TEXT NOT NULL,
        updated_at  TEXT NOT NULL,
        ended_at    TEXT,
        summary     TEXT,
        error       TEXT
    );
    CREATE INDEX tasks_state ON tasks(state);
    CREATE TABLE events (
        task_id INTEGER NOT NULL,
        seq     INTEGER NOT NULL,
        step    INTEGER NOT NULL,
        ts      REAL NOT NULL,
        kind    TEXT NOT NULL,
        data    TEXT NOT NULL,
        PRIMARY KEY (task_id, seq)
    ) WITHOUT ROWID;
    CREATE TABLE checkpoints (
        task_id   INTEGER NOT NULL,
        seq       INTEGER NOT NULL,
        step      INTEGER NOT NULL,
        commit_id TEXT,
        state     TEXT NOT NULL,
        PRIMARY KEY (task_id, seq)
    ) WITHOUT ROWID;
    CREATE TABLE suggestions (
        task_id  INTEGER NOT NULL,
        hunk_id  TEXT NOT NULL,
        path     TEXT NOT NULL,
        status   TEXT NOT NULL,
        data     TEXT NOT NULL,
        PRIMARY KEY (task_id, hunk_id)
    ) WITHOUT ROWID;
    """,
    # 1 -> 2: events as a rowid table. In a WITHOUT ROWID table a row over ~1 KB (with 4 KiB
    # pages) spills into an overflow page of its own, so a 2 KB journal entry took ~5 KB
    # on disk; a rowid table keeps rows up to ~4 KB inside its leaf pages.
    """
    CREATE TABLE events_v2 (
        task_id INTEGER NOT NULL,
        seq     INTEGER NOT NULL,
        step    INTEGER NOT NULL,
        ts      REAL NOT NULL,
        kind    TEXT NOT NULL,
        data    TEXT NOT NULL,
        PRIMARY KEY (task_id, seq)
    );
    INSERT INTO events_v2 SELECT task_id, seq, step, ts, kind, data FROM events;
    DROP TABLE events;
    ALTER TABLE events_v2 RENAME TO events;
    """,
    # 2 -> 3: the verified finish (issue 18): {command, passed, summary} as JSON, NULL when
    # the task was not verified.
    """
    ALTER TABLE tasks ADD COLUMN verification TEXT;
    """,
    # 3 -> 4: webhooks (issue 20). A task's own webhook (its secret signs redeliveries after
    # a restart, so it is kept here, in the 0600 database, never in TaskInfo or the journal)
    # and the outbox: one row per message, written in the transaction of the state change
    # it reports (codetap.webhooks). state: pending | delivered | dead.
    """
    CREATE TABLE task_webhooks (
        task_id    INTEGER PRIMARY KEY,
        url        TEXT NOT NULL,
        secret     TEXT NOT NULL,
        interval_s REAL NOT NULL,
        events     TEXT
    );
    CREATE TABLE outbox (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        msg_id       TEXT NOT NULL UNIQUE,
        task_id      INTEGER NOT NULL,
        type         TEXT NOT NULL,
        url          TEXT NOT NULL,
        secret       TEXT NOT NULL,
        payload      TEXT NOT NULL,
        created      REAL NOT NULL,
        attempts     INTEGER NOT NULL DEFAULT 0,
        next_at      REAL NOT NULL,
        state        TEXT NOT NULL DEFAULT 'pending',
        delivered_at REAL,
        last_status  INTEGER,
        last_error   TEXT
    );
    CREATE INDEX outbox_due ON outbox(state, next_at);
    """,
    # 4 -> 5: remote repositories (issue 20): the repository URL (never with a credential),
    # the task's remote options as JSON ({ref, push, pull_request, base_branch}) and the URL
    # of the pull request opened for it.
    """
    ALTER TABLE tasks ADD COLUMN repo_url TEXT;
    ALTER TABLE tasks ADD COLUMN remote TEXT;
    ALTER TABLE tasks ADD COLUMN pull_request_url TEXT;
    """,
    # 5 -> 6: teams and the queue (issue 19): a sub-task's parent (NULL for a top-level
    # task), its role and sub-task key within the parent's plan (NULL at top level), and
    # the scheduling priority (higher runs first), kept so a restart keeps the order.
    """
    ALTER TABLE tasks ADD COLUMN parent_id INTEGER;
    ALTER TABLE tasks ADD COLUMN role TEXT;
    ALTER TABLE tasks ADD COLUMN subtask TEXT;
    ALTER TABLE tasks ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX tasks_parent ON tasks(parent_id);
    """,
    # 6 -> 7: scale-out (issue 22): a task run on another node is owned through a lease
    # with a fencing token (codetap.store.lease), and the git objects of its last checkpoint
    # (a bundle of the task's own commits) are kept here, so the next owner on another node
    # resumes from them. Portable SQL (SQLite and PostgreSQL).
    """
    CREATE TABLE task_leases (
        task_id    INTEGER PRIMARY KEY,
        token      BIGINT NOT NULL,
        owner      TEXT NOT NULL,
        expires_at DOUBLE PRECISION NOT NULL
    );
    CREATE TABLE task_bundles (
        task_id   INTEGER PRIMARY KEY,
        commit_id TEXT NOT NULL,
        data      BLOB NOT NULL
    );
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)
