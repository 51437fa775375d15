-- The same rule for template names (a lower-case letter, then up to 31 of a-z 0-9 -), checked without the regular
-- expression's bounded repeat, which PostgreSQL unrolls into a state per repetition and runs for every stored message.
ALTER TABLE messages
  DROP CONSTRAINT messages_template_valid,
  ADD CONSTRAINT messages_template_valid CHECK (template ~ '^[a-z][a-z0-9-]*$' AND octet_length(template) <= 32);
