-- The test database of the pgsql table tests (loaded by Tests/CLITests/PgSQLServer.swift).
CREATE TABLE aliases (alias text NOT NULL, forw text, active boolean NOT NULL DEFAULT true);
INSERT INTO aliases (alias, forw, active) VALUES
    ('alice@example.com', 'alice@mail.example.com', true),
    ('bob@example.com', 'bob@mail.example.com', true),
    ('bob@example.com', 'bob@backup.example.com', true),
    ('carol@example.com', 'carol@old.example.com', false),
    ('team@example.com', 'alice@example.com', true),
    ('team@example.com', 'bob@example.com', true),
    ('team@example.com', 'carol@example.com', true),
    ('team@example.com', 'dave@example.com', true),
    ('empty@example.com', '', true),
    ('null@example.com', NULL, true),
    ('o''brien@example.com', 'obrien@mail.example.com', true),
    ('back\slash@example.com', 'backslash@mail.example.com', true),
    ('100%@example.com', 'percent@mail.example.com', true),
    ('jos' || chr(233) || '@example.com', 'jose@mail.example.com', true),
    ('info@example.org', 'info@mail.example.org', true),
    ('postmaster', 'root', true),
    ('dave@sub.dept.example.com', 'dave@mail.example.com', true);
CREATE TABLE domains (domain text NOT NULL, transport text NOT NULL);
INSERT INTO domains VALUES ('example.com', 'smtp:[mx.example.com]'), ('example.org', 'lmtp:unix:private/dovecot');
CREATE FUNCTION lookup_alias(text) RETURNS SETOF text AS $$ SELECT forw FROM aliases WHERE alias = $1 $$ LANGUAGE sql;
CREATE TABLE secret (alias text, forw text);
INSERT INTO secret VALUES ('secret@example.com', 'hidden@example.com');
