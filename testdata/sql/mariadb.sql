-- The test database of the mysql table tests, loaded as root with the mariadb client (see
-- Tests/CLITests/MariaDBServer.swift): the postfix user with a password, the tables, procedures.
CREATE DATABASE IF NOT EXISTS mail;
CREATE USER IF NOT EXISTS 'postfix'@'127.0.0.1' IDENTIFIED BY 'postfix-secret';
CREATE USER IF NOT EXISTS 'postfix'@'localhost' IDENTIFIED BY 'postfix-secret';
GRANT ALL ON mail.* TO 'postfix'@'127.0.0.1';
GRANT ALL ON mail.* TO 'postfix'@'localhost';
CREATE USER IF NOT EXISTS 'tlsonly'@'127.0.0.1' IDENTIFIED BY 'tls-secret' REQUIRE SSL;
GRANT SELECT ON mail.* TO 'tlsonly'@'127.0.0.1';
USE mail;
DROP TABLE IF EXISTS aliases;
CREATE TABLE aliases (alias varchar(255) NOT NULL, forw varchar(255), active tinyint NOT NULL DEFAULT 1) CHARACTER SET latin1;
INSERT INTO aliases (alias, forw, active) VALUES
    ('alice@example.com', 'alice@mail.example.com', 1),
    ('bob@example.com', 'bob@mail.example.com', 1),
    ('bob@example.com', 'bob@backup.example.com', 1),
    ('carol@example.com', 'carol@old.example.com', 0),
    ('team@example.com', 'alice@example.com', 1),
    ('team@example.com', 'bob@example.com', 1),
    ('team@example.com', 'carol@example.com', 1),
    ('team@example.com', 'dave@example.com', 1),
    ('empty@example.com', '', 1),
    ('null@example.com', NULL, 1),
    ('o''brien@example.com', 'obrien@mail.example.com', 1),
    ('back\\slash@example.com', 'backslash@mail.example.com', 1),
    ('100%@example.com', 'percent@mail.example.com', 1),
    ('info@example.org', 'info@mail.example.org', 1),
    ('postmaster', 'root', 1),
    ('dave@sub.dept.example.com', 'dave@mail.example.com', 1);
DROP TABLE IF EXISTS domains;
CREATE TABLE domains (domain varchar(255) NOT NULL, transport varchar(255) NOT NULL);
INSERT INTO domains VALUES ('example.com', 'smtp:[mx.example.com]'), ('example.org', 'lmtp:unix:private/dovecot');
DELIMITER //
DROP PROCEDURE IF EXISTS lookup_alias //
CREATE PROCEDURE lookup_alias(IN k varchar(255)) SELECT forw FROM aliases WHERE alias = k //
DROP PROCEDURE IF EXISTS two_sets //
CREATE PROCEDURE two_sets(IN k varchar(255)) BEGIN SELECT forw FROM aliases WHERE alias = k; SELECT 'second'; END //
DROP PROCEDURE IF EXISTS no_set //
CREATE PROCEDURE no_set(IN k varchar(255)) BEGIN DECLARE x int; SET x = 1; END //
DROP PROCEDURE IF EXISTS fails //
CREATE PROCEDURE fails(IN k varchar(255)) BEGIN SELECT forw FROM aliases WHERE alias = k; SELECT * FROM nosuchtable; END //
DELIMITER ;
