-- Item pictures (issue 12). The bytes live in the hub's database so `storehub backup` / `restore` carry them with
-- the catalog, and a picture and the item that shows it change in one transaction.
-- One row per distinct picture, named by the SHA-256 of its normalised copy (content-addressed: uploading the same
-- picture again, or giving it to several items, stores it once); its variants (the normalised copy, longest side
-- <= 1024 px, and the 320 px and 96 px thumbnails, all WebP without metadata) in picture_variants.
-- A picture no item shows any more is deleted with its variants in the transaction that let it go (an SD card is
-- small). Sizes: a 1024 px WebP is ~60-150 KB, the thumbnails ~15 KB and ~3 KB.

CREATE TABLE pictures (
  sha256 TEXT PRIMARY KEY CHECK (length(sha256) = 64),   -- hex SHA-256 of the 1024 px variant's bytes
  width INTEGER NOT NULL CHECK (width > 0),               -- of the normalised copy
  height INTEGER NOT NULL CHECK (height > 0),
  source_format TEXT NOT NULL CHECK (source_format IN ('JPEG', 'PNG', 'WEBP')),
  source_bytes INTEGER NOT NULL,                          -- size of the upload it was made from
  created_at TEXT NOT NULL
);

CREATE TABLE picture_variants (
  sha256 TEXT NOT NULL REFERENCES pictures(sha256) ON DELETE CASCADE,
  size INTEGER NOT NULL CHECK (size IN (96, 320, 1024)),  -- the longest side is at most this
  media_type TEXT NOT NULL,
  width INTEGER NOT NULL,
  height INTEGER NOT NULL,
  data BLOB NOT NULL,
  PRIMARY KEY (sha256, size)
);

-- The item's picture (NULL: none). Carried by the item.upsert fact so the central knows one exists.
ALTER TABLE items ADD COLUMN picture_sha256 TEXT REFERENCES pictures(sha256);
CREATE INDEX items_picture ON items(picture_sha256) WHERE picture_sha256 IS NOT NULL;
