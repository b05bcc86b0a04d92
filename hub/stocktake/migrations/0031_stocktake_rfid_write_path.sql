-- RFID ingest writes one upsert per EPC per flush; the (session, item, zone) index made each of them
-- rewrite a second B-tree entry. The count queries read a session's tags through the primary key
-- (session_id, epc) prefix instead, which is as fast for one session's 50,000 tags.
DROP INDEX IF EXISTS count_rfid_tags_item;
