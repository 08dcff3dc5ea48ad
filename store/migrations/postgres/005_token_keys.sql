-- 004: a random token key per subscriber (PostgreSQL), mixed into the MAC of
-- every link token so that a token works only for the row it was made for;
-- see ../sqlite/003_token_keys.sql. Identity columns already never hand out
-- an id twice. The default is volatile, so every existing row gets its own
-- key (and links mailed before this migration stop working); the stores
-- write a key from crypto/rand when they create a subscriber, and the
-- default serves imports. gen_random_uuid draws from the server's strong
-- random source; 122 of its 128 bits are random.
ALTER TABLE subscribers ADD COLUMN token_key bytea NOT NULL DEFAULT uuid_send(gen_random_uuid())
    CHECK (octet_length(token_key) >= 16);
