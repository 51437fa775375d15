-- The fixture app's ledger: entries accepted by its API, and the ones its worker has seen through the topic.
CREATE TABLE entries (id uuid PRIMARY KEY, label text NOT NULL);
CREATE TABLE seen (id uuid PRIMARY KEY, label text NOT NULL);
