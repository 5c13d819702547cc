-- Issue 12: the templates as last checked at a start, by the digest of the build, the template
-- folder and the samples (`templates::Templates::digest`). A start that finds its digest here
-- has nothing new to check and skips the check, most of the CPU a start takes.
CREATE TABLE template_check (
    digest      TEXT PRIMARY KEY,
    checked_at  TIMESTAMPTZ NOT NULL
);
