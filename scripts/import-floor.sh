#!/usr/bin/env bash
# The floor under an import: the rows an import of the bench's file stored, written again
# into an empty store by the database alone (INSERT ... SELECT, nothing parsed, matched or
# sent over a socket), table by table, on SQLite and PostgreSQL, beside `psql \copy` of the
# file. What no import path into this schema can beat: its own indexes and triggers.
#
#   scripts/import-floor.sh [ROWS]        (default 100000; needs a release build)
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-100000}
bin=target/release
work=$(mktemp -d)
pg=postgres://postgres@127.0.0.1:5432
db=leadgate_floor_$$
trap 'rm -rf "$work"; psql -q "$pg/test" -c "DROP DATABASE IF EXISTS $db" 2>/dev/null || true' EXIT

sed -n '/^const MAPPING: &str = r#"/,/^"#;/p' crates/leadgate-bench/src/import.rs | sed '1d;$d' >"$work/mapping.toml"
# The bench's own line for `psql \copy` of the file into a table of text columns.
"$bin/leadgate-bench" import --rows "$rows" --engine sqlite --keep-file "$work/leads.csv" 2>/dev/null |
    grep '^psql'

echo "== SQLite"
"$bin/leadgate" import "$work/leads.csv" -m "$work/mapping.toml" --database-url "$work/full.db" 2>/dev/null | grep '^import'
"$bin/leadgate" import --status --database-url "$work/empty.db" >/dev/null 2>&1
sqlite3 "$work/empty.db" <<SQL
PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=OFF;
ATTACH '$work/full.db' AS s;
.timer on
BEGIN;
INSERT INTO companies SELECT * FROM s.companies;
INSERT INTO people SELECT * FROM s.people;
INSERT INTO leads SELECT * FROM s.leads;
INSERT INTO events SELECT * FROM s.events;
COMMIT;
SQL

echo "== PostgreSQL"
psql -q "$pg/test" -c "CREATE DATABASE $db"
"$bin/leadgate" import "$work/leads.csv" -m "$work/mapping.toml" --database-url "$pg/$db" 2>/dev/null | grep '^import'
psql -q "$pg/$db" <<SQL
CREATE TABLE s_companies AS SELECT * FROM companies;
CREATE TABLE s_people AS SELECT * FROM people;
CREATE TABLE s_leads AS SELECT * FROM leads;
CREATE TABLE s_events AS SELECT * FROM events;
SET client_min_messages = warning;
\timing on
\echo as stored: every index and trigger
BEGIN;
TRUNCATE leads, events, people, companies CASCADE;
INSERT INTO companies SELECT * FROM s_companies;
INSERT INTO people SELECT * FROM s_people;
INSERT INTO leads SELECT * FROM s_leads;
INSERT INTO events SELECT * FROM s_events;
COMMIT;
\echo leads without their triggers
BEGIN;
TRUNCATE leads, events CASCADE;
ALTER TABLE leads DISABLE TRIGGER USER;
INSERT INTO leads SELECT * FROM s_leads;
ROLLBACK;
\echo leads without their triggers and the trigram search index
BEGIN;
TRUNCATE leads, events CASCADE;
ALTER TABLE leads DISABLE TRIGGER USER;
DROP INDEX leads_search_trgm;
INSERT INTO leads SELECT * FROM s_leads;
ROLLBACK;
\echo leads into a table of the same columns with no index
CREATE TEMP TABLE bare (LIKE leads);
INSERT INTO bare SELECT * FROM s_leads;
SQL
